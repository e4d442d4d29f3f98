package simulator

import (
	"context"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/saas-export/export/sources"
	"github.com/saas-export/export/sources/httpsource"
)

// TestTouch checks that Server.Touch moves the UpdatedAt of the people
// whose ids it returns to now, to the second, and changes nothing else.
func TestTouch(t *testing.T) {
	srv := start(t, 40, 3, "")
	for _, p := range sources.All() {
		if p.Simulator == nil {
			continue
		}
		users := srv.Users(p.Name)
		from := time.Now().Truncate(time.Second)
		touched := srv.Touch(p.Name, 4)
		to := time.Now()
		if len(touched) != 4 {
			t.Fatalf("%s: touched %v, want 4 ids", p.Name, touched)
		}
		ids, after := srv.IDs(p.Name), srv.Users(p.Name)
		if len(after) != len(users) {
			t.Fatalf("%s: %d people after a touch, %d before", p.Name, len(after), len(users))
		}
		for k, id := range ids {
			was, now := users[k], after[k]
			if slices.Contains(touched, id) {
				if now.UpdatedAt.Before(from) || now.UpdatedAt.After(to) || now.UpdatedAt.Nanosecond() != 0 {
					t.Errorf("%s: touched %s updated at %v, want within [%v, %v] to the second", p.Name, id, now.UpdatedAt, from, to)
				}
				was.UpdatedAt = now.UpdatedAt
			}
			if !reflect.DeepEqual(now, was) {
				t.Errorf("%s: %s changed beyond UpdatedAt: %+v, was %+v", p.Name, id, now, was)
			}
		}
	}
	if srv.Touch("acme", 1) != nil {
		t.Error("an unknown provider was touched")
	}
}

// TestTouchShowsInEveryWireFormat exports every provider, in each of its
// wire formats, after a touch: each user's updated_at must be its
// person's UpdatedAt, touched or not, unless the provider reports none.
func TestTouchShowsInEveryWireFormat(t *testing.T) {
	srv := start(t, 120, 5, "")
	auth := httpsource.Auth{Type: "bearer", Token: "t", Headers: map[string]string{"x-session-token": "s"}}
	for _, p := range sources.All() {
		if p.Simulator == nil {
			continue
		}
		touched := srv.Touch(p.Name, 10)
		updated := map[string]time.Time{}
		ids := srv.IDs(p.Name)
		for k, u := range srv.Users(p.Name) {
			updated[ids[k]] = u.UpdatedAt
		}
		wires := p.WireFormats
		if len(wires) == 0 {
			wires = []string{""}
		}
		for _, wire := range wires {
			job := httpsource.Job{Name: "touch", BaseURL: srv.BaseURL(p.Name), WireFormat: wire, MaxInFlight: 2, ExtractedAt: time.Now().UTC()}
			src, err := p.New(job, httpsource.NewClient(httpsource.ClientConfig{Job: job.Name, Provider: p.Name, Auth: auth}))
			if err != nil {
				t.Fatal(err)
			}
			seen, dated := 0, 0
			err = src.Fetch(context.Background(), func(page httpsource.Page) error {
				for _, u := range page.Users {
					seen++
					if !u.UpdatedAt.Valid {
						continue
					}
					dated++
					if want := updated[u.ID]; !u.UpdatedAt.V.Equal(want) {
						t.Errorf("%s %s: user %s updated_at %v, want %v (touched: %t)",
							p.Name, wire, u.ID, u.UpdatedAt.V, want, slices.Contains(touched, u.ID))
					}
				}
				return nil
			})
			if err != nil {
				t.Fatalf("%s %s: %v", p.Name, wire, err)
			}
			if seen != len(ids) || (dated != 0 && dated != seen) {
				t.Errorf("%s %s: %d users, %d with updated_at; want %d, all or none dated", p.Name, wire, seen, dated, len(ids))
			}
			if dated == 0 {
				t.Logf("%s %s: the API reports no update time", p.Name, wire)
			}
		}
	}
}
