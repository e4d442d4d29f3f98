package simdata

import (
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"
)

func numbers(p *People) []int {
	var out []int
	for _, per := range p.Present() {
		out = append(out, per.Number)
	}
	return out
}

func TestPopulationMutations(t *testing.T) {
	for _, tc := range []struct {
		name   string
		n      int
		steps  []func(*Population) []int
		want   string // present Numbers, natural order
		change []string
	}{
		{name: "untouched", n: 3, want: "[1000 1001 1002]"},
		{name: "insert lands first", n: 3,
			steps: []func(*Population) []int{func(p *Population) []int { return p.Insert(2) }},
			want:  "[998 999 1000 1001 1002]", change: []string{"[3 4]"}},
		{name: "later inserts come before earlier ones", n: 2,
			steps: []func(*Population) []int{
				func(p *Population) []int { return p.Insert(1) },
				func(p *Population) []int { return p.Insert(2) },
			},
			want: "[997 998 999 1000 1001]", change: []string{"[2]", "[3 4]"}},
		{name: "delete more than present", n: 2,
			steps: []func(*Population) []int{func(p *Population) []int { return p.Delete(5) }},
			want:  "[]"},
		{name: "empty population", n: 0,
			steps: []func(*Population) []int{
				func(p *Population) []int { return p.Delete(1) },
				func(p *Population) []int { return p.Insert(1) },
			},
			want: "[999]", change: []string{"[]", "[0]"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pop := NewPopulation(tc.n, 1)
			for k, step := range tc.steps {
				got := step(pop)
				if k < len(tc.change) && fmt.Sprint(got) != tc.change[k] {
					t.Errorf("step %d changed %v, want %s", k, got, tc.change[k])
				}
			}
			if got := fmt.Sprint(numbers(pop.People())); got != tc.want {
				t.Errorf("present %s, want %s", got, tc.want)
			}
			if pop.Version() != uint64(len(tc.steps)) {
				t.Errorf("version %d after %d mutations", pop.Version(), len(tc.steps))
			}
		})
	}
}

// TestPopulationDeleteIsDeterministic checks that the people deleted
// depend on the seed and the mutation's number only, and that a snapshot
// taken before is unaffected.
func TestPopulationDeleteIsDeterministic(t *testing.T) {
	run := func(seed uint64) ([]int, []int, Snapshot) {
		pop := NewPopulation(50, seed)
		before := pop.Snapshot()
		first := pop.Delete(5)
		pop.Insert(3)
		return first, pop.Delete(5), before
	}
	a1, a2, before := run(1)
	b1, b2, _ := run(1)
	c1, _, _ := run(2)
	if !slices.Equal(a1, b1) || !slices.Equal(a2, b2) {
		t.Errorf("same seed deleted %v %v, then %v %v", a1, a2, b1, b2)
	}
	if slices.Equal(a1, c1) {
		t.Errorf("seeds 1 and 2 both deleted %v", a1)
	}
	if slices.Equal(a1, a2) {
		t.Errorf("both deletions chose %v", a1)
	}
	if before.Len() != 50 || before.Index(49) != 49 {
		t.Errorf("earlier snapshot changed: %d people", before.Len())
	}
}

func TestPopulationConcurrentUse(t *testing.T) {
	pop := NewPopulation(100, 1)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 20 {
				pop.Insert(1)
				pop.Delete(1)
				pop.Touch(2, time.Now())
				snap := pop.Snapshot()
				for k := range snap.Len() {
					_ = pop.People().Person(snap.Index(k))
				}
			}
		})
	}
	wg.Wait()
	if n := pop.Snapshot().Len(); n != 100 || pop.Version() != 240 {
		t.Errorf("%d present after version %d, want 100 after 240", n, pop.Version())
	}
}

func TestPeopleWithoutPopulation(t *testing.T) {
	p := &People{N: 2, Seed: 1}
	if got := fmt.Sprint(numbers(p)); got != "[1000 1001]" {
		t.Errorf("present %s", got)
	}
	if got := p.Person(2).Number; got != 999 {
		t.Errorf("person 2 of 2 has Number %d, want 999", got)
	}
}

// TestPopulationTouch checks that Touch changes the UpdatedAt of the people
// it returns, to the second, and nothing else of anyone.
func TestPopulationTouch(t *testing.T) {
	pop := NewPopulation(40, 1)
	before := pop.People().Present()
	at := time.Date(2030, 5, 6, 7, 8, 9, 123456789, time.FixedZone("+02:00", 7200))
	touched := pop.Touch(5, at)
	if len(touched) != 5 || pop.Version() != 1 {
		t.Fatalf("touched %v, version %d", touched, pop.Version())
	}
	want := time.Date(2030, 5, 6, 5, 8, 9, 0, time.UTC)
	for _, old := range before {
		got := pop.People().Person(old.Index)
		if slices.Contains(touched, old.Index) {
			if got.UpdatedAt != want {
				t.Errorf("person %d: UpdatedAt %v, want %v", old.Index, got.UpdatedAt, want)
			}
			old.UpdatedAt = want
		}
		if !reflect.DeepEqual(got, old) {
			t.Errorf("person %d changed beyond UpdatedAt:\n%+v\nwas\n%+v", old.Index, got, old)
		}
	}
	if n := pop.Snapshot().Len(); n != 40 {
		t.Errorf("%d present after a touch, want 40", n)
	}
	if got := pop.Touch(100, at); len(got) != 40 {
		t.Errorf("touching more than present touched %d, want 40", len(got))
	}
}

func TestPopulationTouchIsDeterministic(t *testing.T) {
	run := func(seed uint64) ([]int, []int) {
		pop := NewPopulation(50, seed)
		first := pop.Touch(5, time.Unix(0, 0))
		pop.Delete(3)
		return first, pop.Touch(5, time.Unix(0, 0))
	}
	a1, a2 := run(1)
	b1, b2 := run(1)
	c1, _ := run(2)
	if !slices.Equal(a1, b1) || !slices.Equal(a2, b2) {
		t.Errorf("same seed touched %v %v, then %v %v", a1, a2, b1, b2)
	}
	if slices.Equal(a1, c1) || slices.Equal(a1, a2) {
		t.Errorf("touches not spread by seed and mutation: %v %v %v", a1, c1, a2)
	}
}

// TestPopulationInsertStampsNow checks that an inserted person was created
// and updated when inserted, by the population's clock.
func TestPopulationInsertStampsNow(t *testing.T) {
	pop := NewPopulation(3, 1)
	at := time.Date(2031, 1, 2, 3, 4, 5, 600, time.UTC)
	pop.Now = func() time.Time { return at }
	for _, i := range pop.Insert(2) {
		p := pop.People().Person(i)
		if want := at.Truncate(time.Second); p.CreatedAt != want || p.UpdatedAt != want {
			t.Errorf("inserted person %d: created %v updated %v, want %v", i, p.CreatedAt, p.UpdatedAt, want)
		}
	}
	if got, want := pop.People().Person(0), (&People{N: 3, Seed: 1}).Person(0); !reflect.DeepEqual(got, want) {
		t.Errorf("an earlier person changed: %+v, was %+v", got, want)
	}
}
