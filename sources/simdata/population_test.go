package simdata

import (
	"fmt"
	"slices"
	"sync"
	"testing"
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
				snap := pop.Snapshot()
				for k := range snap.Len() {
					_ = pop.People().Person(snap.Index(k))
				}
			}
		})
	}
	wg.Wait()
	if n := pop.Snapshot().Len(); n != 100 || pop.Version() != 160 {
		t.Errorf("%d present after version %d, want 100 after 160", n, pop.Version())
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
