package simulator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/saas-export/export/sources/simdata"
)

// listingCase pages through one provider with a plain client, at the
// docs' page size.
type listingCase struct {
	provider string
	listings int // 2 when everyone takes two listings (active and inactive, say)
	// page fetches page no (from 0) of a listing (0: the default one): its
	// ids and the total it reports.
	page func(t *testing.T, base string, listing, no int) (ids []string, total int)
	// shown is whether the default listing has a person; total converts
	// the number shown to the total page reports.
	shown func(simdata.Person) bool
	total func(shown int) int
}

func listingCases() []listingCase {
	everyone := func(simdata.Person) bool { return true }
	active := func(p simdata.Person) bool { return !p.Inactive }
	same := func(n int) int { return n }
	return []listingCase{{
		provider: "medipim", listings: 1, shown: everyone, total: same,
		page: func(t *testing.T, base string, _, no int) ([]string, int) {
			var r struct {
				Meta    struct{ Total int }
				Results []struct{ ID int }
			}
			fetch(t, "POST", base+"/v4/users/query", fmt.Sprintf(`{"page": {"no": %d, "size": 100}}`, no), nil, &r)
			ids := []string{}
			for _, u := range r.Results {
				ids = append(ids, strconv.Itoa(u.ID))
			}
			return ids, r.Meta.Total
		},
	}, {
		provider: "nameshield", listings: 1, shown: everyone, total: same,
		page: func(t *testing.T, base string, _, no int) ([]string, int) {
			var r struct {
				Data struct {
					Total   int
					Results []struct{ ID string }
				}
			}
			fetch(t, "GET", fmt.Sprintf("%s/user/v1/users?limit=100&offset=%d", base, 100*no), "", nil, &r)
			ids := []string{}
			for _, u := range r.Data.Results {
				ids = append(ids, u.ID)
			}
			return ids, r.Data.Total
		},
	}, {
		provider: "requestor", listings: 1, shown: everyone, total: same,
		page: func(t *testing.T, base string, _, no int) ([]string, int) {
			var r struct {
				PagedUsers struct {
					TotalItems int
					Items      []struct{ UserProviderKey string }
				}
			}
			fetch(t, "POST", base+"/api/Account/GetUsers", fmt.Sprintf(`{"PageIndex": %d, "PageSize": 200}`, no),
				map[string]string{"Content-Type": "application/json"}, &r)
			ids := []string{}
			for _, u := range r.PagedUsers.Items {
				ids = append(ids, u.UserProviderKey)
			}
			return ids, r.PagedUsers.TotalItems
		},
	}, {
		provider: "mctime", listings: 2, shown: active,
		total: func(n int) int { return (n + 19) / 20 }, // mctime reports pages
		page: func(t *testing.T, base string, listing, no int) ([]string, int) {
			var r struct {
				Items []struct {
					Data struct {
						Users    []struct{ ID string }
						PageSize string
					}
				}
			}
			fetch(t, "GET", fmt.Sprintf("%s/users?inactive=%t&page=%d", base, listing == 1, no+1), "", nil, &r)
			ids := []string{}
			for _, u := range r.Items[0].Data.Users {
				ids = append(ids, u.ID)
			}
			pages, _ := strconv.Atoi(r.Items[0].Data.PageSize)
			return ids, pages
		},
	}, {
		provider: "kare", listings: 2, shown: active, total: same,
		page: func(t *testing.T, base string, listing, no int) ([]string, int) {
			var r struct {
				Data       []struct{ ID int }
				TotalCount int
			}
			url := fmt.Sprintf("%s/users/v1/rs?page=%d&pageSize=50&includeCount=true", base, no+1)
			if listing == 1 {
				url += "&whereIsDeleted=true"
			}
			fetch(t, "GET", url, "", map[string]string{"Authorization": "Bearer t", "x-session-token": "s"}, &r)
			ids := []string{}
			for _, u := range r.Data {
				ids = append(ids, strconv.Itoa(u.ID))
			}
			return ids, r.TotalCount
		},
	}}
}

func fetch(t *testing.T, method, url, body string, header map[string]string, into any) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := client(5 * time.Second).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("%s %s: HTTP %d %s (%v)", method, url, resp.StatusCode, raw, err)
	}
	if err := json.NewDecoder(bytes.NewReader(raw)).Decode(into); err != nil {
		t.Fatal(err)
	}
}

// everyone reads every listing of c to its end.
func (c listingCase) everyone(t *testing.T, base string) []string {
	var all []string
	for listing := range c.listings {
		for no := 0; ; no++ {
			ids, _ := c.page(t, base, listing, no)
			if len(ids) == 0 {
				break
			}
			all = append(all, ids...)
		}
	}
	return all
}

// shownIDs is the ids of the people the default listing has, in order.
func (c listingCase) shownIDs(srv *Server) []string {
	var ids []string
	all := srv.IDs(c.provider)
	for k, p := range srv.Users(c.provider) {
		if c.shown(p) {
			ids = append(ids, all[k])
		}
	}
	return ids
}

func minus(a, b []string) []string {
	return slices.DeleteFunc(slices.Clone(a), func(id string) bool { return slices.Contains(b, id) })
}

// TestDrift pages through each provider while drift deletes and inserts
// people: after the first page, 5 go and 3 come; after the second, 4 go
// and 1 comes. Each request must see the population as it is then, with
// the people inserted first, and IDs must be what a fresh listing reads.
func TestDrift(t *testing.T) {
	const users = 250
	for _, c := range listingCases() {
		t.Run(c.provider, func(t *testing.T) {
			srv := start(t, users, 1, "drift:5/3@1,drift:4/1@2")
			base := srv.BaseURL(c.provider)
			page := func() ([]string, int) { return c.page(t, base, 0, 0) }

			before, shownBefore := srv.IDs(c.provider), c.shownIDs(srv)
			ids, total := page()
			if len(before) != users || total != c.total(len(shownBefore)) || !slices.Equal(ids, shownBefore[:len(ids)]) {
				t.Fatalf("before drift: %d people, total %d of %d shown, page starts %v", len(before), total, len(shownBefore), ids[:min(len(ids), 5)])
			}

			after, shownAfter := srv.IDs(c.provider), c.shownIDs(srv)
			deleted, inserted := minus(before, after), minus(after, before)
			if len(after) != users-5+3 || len(deleted) != 5 || len(inserted) != 3 || srv.Stats().Drifts[c.provider] != 1 {
				t.Fatalf("first drift: %d people, deleted %v, inserted %v, stats %+v", len(after), deleted, inserted, srv.Stats())
			}
			ids, total = page()
			insertedShown := minus(shownAfter, minus(shownAfter, inserted))
			if total != c.total(len(shownAfter)) || !slices.Equal(ids, shownAfter[:len(ids)]) ||
				len(insertedShown) == 0 || !slices.Equal(ids[:len(insertedShown)], insertedShown) {
				t.Errorf("after the first drift: total %d of %d shown, page starts %v; inserted %v", total, len(shownAfter), ids[:min(len(ids), 5)], inserted)
			}

			final := c.everyone(t, base)
			want := srv.IDs(c.provider)
			if srv.Stats().Drifts[c.provider] != 2 || len(want) != users-5+3-4+1 || len(minus(after, want)) != 4 {
				t.Errorf("second drift: %d people, stats %+v", len(want), srv.Stats())
			}
			slices.Sort(final)
			if !slices.Equal(final, slices.Sorted(slices.Values(want))) || len(minus(final, minus(final, deleted))) != 0 {
				t.Errorf("a fresh listing has %d ids, IDs %d", len(final), len(want))
			}
		})
	}
}

// TestDriftIsPerProvider checks that a scoped drift changes its provider
// only, and that an unscoped one changes each provider's own population.
func TestDriftIsPerProvider(t *testing.T) {
	srv := start(t, 30, 1, "nameshield/drift:0/2@1,drift:1/0@2")
	for _, c := range listingCases() {
		c.page(t, srv.BaseURL(c.provider), 0, 0)
	}
	for _, c := range listingCases() {
		if want := map[bool]int{true: 32, false: 30}[c.provider == "nameshield"]; len(srv.IDs(c.provider)) != want {
			t.Errorf("%s: %d people after one page, want %d", c.provider, len(srv.IDs(c.provider)), want)
		}
	}
	c := listingCases()[0]
	c.page(t, srv.BaseURL(c.provider), 0, 0)
	if got := len(srv.IDs(c.provider)); got != 29 || len(srv.IDs("mctime")) != 30 {
		t.Errorf("%s: %d people after two pages, want 29; mctime %d, want 30", c.provider, got, len(srv.IDs("mctime")))
	}
}

// TestDriftCountsDataPagesOnly checks that faulted requests and errors are
// not pages: the drift due after the third page waits for three 200s.
func TestDriftCountsDataPagesOnly(t *testing.T) {
	srv := start(t, 30, 1, "nameshield/500:0.5,nameshield/drift:0/1@3")
	c := client(time.Second)
	get(c, srv.BaseURL("nameshield")+"/user/v1/users?limit=0") // a 400
	for srv.Stats().Pages["nameshield"] < 3 {
		if srv.Stats().Drifts["nameshield"] != 0 || len(srv.IDs("nameshield")) != 30 {
			t.Fatalf("drifted early: %+v", srv.Stats())
		}
		get(c, srv.BaseURL("nameshield")+"/user/v1/users")
	}
	st := srv.Stats()
	if st.Drifts["nameshield"] != 1 || len(srv.IDs("nameshield")) != 31 || st.Faults["500"] == 0 || st.Requests["nameshield"] != 4+st.Faults["500"] {
		t.Errorf("after three pages: %d people, stats %+v", len(srv.IDs("nameshield")), st)
	}
}
