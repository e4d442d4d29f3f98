package sinks

import (
	"fmt"
	"time"

	"github.com/saas-export/export/schema"
)

var (
	extracted = time.Date(2024, 5, 6, 7, 8, 9, 123456000, time.UTC)
	created   = time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC)
)

func str(s string) schema.Null[string] { return schema.Some(s) }

func ts(t time.Time) schema.Null[time.Time] { return schema.SomeTime(t) }

// fixtureRows is the fixed set of rows behind the golden files: every
// value that a format could get wrong.
func fixtureRows() []schema.User {
	base := func(id string) schema.User {
		return schema.User{Provider: "medipim", Job: "medipim-be", ID: id, RunID: "run-1", ExtractedAt: extracted}
	}
	full := base("1")
	full.Key = str("k-1")
	full.Username = str("jdoe")
	full.FirstName = str("Jöhn, \"Johnny\"")
	full.LastName = str("Dœ 日本語 🎉")
	full.FullName = str("line one\nline two\r\nline three")
	full.Email = str("john@example.com")
	full.Phone = str("+32 2 123 45 67")
	full.Phones = []string{"+32 2 123 45 67", "a,b", `quote " inside`}
	full.Language = str("nl")
	full.OrganizationID = str("org-9")
	full.Roles = []string{"end_user", "administrator"}
	full.Active = schema.Some(true)
	full.CreatedAt = ts(created)
	full.UpdatedAt = ts(time.Date(2023, 1, 1, 0, 0, 0, 123456000, time.UTC))
	full.DeletedAt = ts(time.Date(2023, 1, 2, 3, 4, 5, 120000000, time.UTC))
	full.ExpiresAt = ts(time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC))
	full.LastLoginAt = ts(time.Date(1969, 7, 20, 20, 17, 40, 1000, time.FixedZone("CEST", 2*3600)))
	full.Raw = []byte(`{"id":1,"name":"Jöhn \"Johnny\"","tags":["a","b"],"html":"<b>&</b>"}`)

	nulls := base("2") // every optional value null, lists nil

	empty := base("3")
	empty.Key = str("")
	empty.Username = str("")
	empty.FirstName = str("")
	empty.LastName = str("")
	empty.FullName = str("")
	empty.Email = str("")
	empty.Phone = str("")
	empty.Phones = []string{}
	empty.Language = str("")
	empty.OrganizationID = str("")
	empty.Roles = []string{}
	empty.Active = schema.Some(false)
	empty.CreatedAt = ts(time.Unix(0, 0))
	empty.Raw = []byte(`{}`)

	tricky := base("4")
	tricky.Key = str(" leading space")
	tricky.Username = str("trailing space ")
	tricky.FirstName = str("=SUM(A1:A9)")
	tricky.LastName = str("-minus")
	tricky.FullName = str("@at")
	tricky.Email = str("\ttab\\back\x01ctl")
	tricky.Phone = str(`"`)
	tricky.Phones = []string{""}
	tricky.Language = str("\rcr")
	tricky.OrganizationID = str("plain")
	tricky.Roles = []string{"x"}
	tricky.Raw = []byte(`[1,"two",null]`)

	return []schema.User{full, nulls, empty, tricky}
}

// realisticRows returns n rows shaped like a provider's users, the same
// for the same n.
func realisticRows(n int) []schema.User {
	rows := make([]schema.User, n)
	langs := []string{"nl", "fr", "en", "de"}
	for i := range rows {
		u := &rows[i]
		u.Provider = "medipim"
		u.Job = "medipim-be"
		u.ID = fmt.Sprint(100000 + i)
		u.FirstName = str(fmt.Sprintf("First%d", i))
		u.LastName = str(fmt.Sprintf("Lästname %d", i))
		u.FullName = schema.FullName(schema.Null[string]{}, u.FirstName, u.LastName)
		u.Email = str(fmt.Sprintf("user%d@example.com", i))
		if i%3 != 0 {
			u.Phone = str(fmt.Sprintf("+32 2 %03d %02d %02d", i%1000, i%100, i%97))
			u.Phones = []string{u.Phone.V}
		}
		u.Language = str(langs[i%len(langs)])
		u.OrganizationID = str(fmt.Sprint("org-", i%50))
		u.Roles = []string{"end_user"}
		u.Active = schema.Some(i%10 != 0)
		u.CreatedAt = ts(created.Add(time.Duration(i) * time.Minute))
		u.UpdatedAt = ts(created.Add(time.Duration(i)*time.Hour + 1234*time.Microsecond))
		if i%10 == 0 {
			u.DeletedAt = ts(created.Add(48 * time.Hour))
		}
		u.RunID = "run-1"
		u.ExtractedAt = extracted
	}
	return rows
}
