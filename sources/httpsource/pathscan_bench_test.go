package httpsource

import (
	"encoding/json"
	"fmt"
	"testing"
)

// BenchmarkOnceOnPath measures the duplicate-member walk over a page of
// 500 records, compact and indented (as Requestor sends its JSON):
//
//	go test ./sources/httpsource -run '^$' -bench OnceOnPath
func BenchmarkOnceOnPath(b *testing.B) {
	recs := make([]map[string]any, 500)
	for i := range recs {
		recs[i] = map[string]any{
			"UserProviderKey": fmt.Sprintf("b3980023-35b9-438c-8e32-%012d", i), "UserName": fmt.Sprint("noah.janssens", i),
			"Email": fmt.Sprintf("noah.janssens%d@example.net", i), "MiddleName": nil, "IsApproved": true, "CustomerId": i % 50,
			"Phones": []string{"+32 449 07 96 15"}, "LastUpdatedUtc": "2022-11-19T01:29:44Z", "Language": 0, "Tags": []string{},
			"Note": `say "hi" \ bye`,
		}
	}
	page := map[string]any{"PagedUsers": map[string]any{"PageIndex": 0, "TotalItems": 500, "Items": recs}}
	compact, _ := json.Marshal(page)
	indented, _ := json.MarshalIndent(page, "", "  ")
	for name, body := range map[string][]byte{"compact": compact, "indented": indented} {
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				if err := onceOnPath(body, []string{"PagedUsers", "Items"}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
