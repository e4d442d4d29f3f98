package pipeline

import (
	"fmt"
	"log/slog"
	"math"

	"github.com/saas-export/export/sources/httpsource"
)

// ParseRate reads a rate as jobs.yaml's rate_limit takes it (100/1m,
// 10/s), for command-line flags that take one.
func ParseRate(s string) (httpsource.Rate, error) {
	r, ok := parseRate(s)
	if !ok {
		return httpsource.Rate{}, fmt.Errorf("%q is not %s", s, rateWant)
	}
	return r, nil
}

// accountBudgets are the request budgets of a run's jobs that share an
// account: a provider limits requests per token (Nameshield: 600 per 5
// minutes), so two jobs on one token with a budget each would together
// send twice it and collect 429s. Built once per run, from the jobs it
// runs; a job alone on its account is not in it and keeps a budget of its
// own rate_limit, as before. So is a job that sends no credential: it has
// no account to share, and how an API treats requests without one is not
// what rate_limit describes.
type accountBudgets struct {
	byJob map[string]*sharedAccount
}

// sharedAccount is one account's budget and the jobs that draw on it.
type sharedAccount struct {
	jobs        []string
	rate        httpsource.Rate // the strictest of the jobs'
	maxInFlight int             // the smallest of the jobs'
	budget      *httpsource.Budget
}

// newAccountBudgets groups jobs by account and logs, once per account
// that several share, which jobs share it and its limits.
func newAccountBudgets(jobs []Job, log *slog.Logger) *accountBudgets {
	b := &accountBudgets{byJob: map[string]*sharedAccount{}}
	groups := map[string][]Job{}
	var keys []string // in job order, so that the logs are
	anonymous := httpsource.Auth{}.Fingerprint()
	for _, j := range jobs {
		if j.Auth.Fingerprint() == anonymous {
			continue
		}
		k := accountKey(j)
		if groups[k] == nil {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], j)
	}
	for _, k := range keys {
		if len(groups[k]) < 2 {
			continue
		}
		acc := shareAccount(groups[k])
		for _, name := range acc.jobs {
			b.byJob[name] = acc
		}
		log.Info("jobs on one account share its request budget",
			"jobs", acc.jobs, "provider", groups[k][0].Provider, "rate_limit", acc.rate.String(), "max_in_flight", acc.maxInFlight)
	}
	return b
}

// accountKey tells accounts apart: the provider, the base URL and a
// SHA-256 of the credential headers, so that the key holds no secret.
// base_url: simulator is keyed as written: it names one URL per provider
// in a run, the in-process simulator's on a port chosen when it starts,
// which no other base_url can name, so this is keying by the resolved URL
// without starting the simulator for a plan or a job that never connects.
func accountKey(j Job) string {
	return j.Provider + "\x00" + j.BaseURL + "\x00" + j.Auth.Fingerprint()
}

// shareAccount resolves the jobs' limits into one budget. A budget over
// the strictest rate keeps every job within what it was told the account
// allows; the smallest max_in_flight bounds the requests in flight across
// the jobs, while each job's own still bounds its own pages.
func shareAccount(jobs []Job) *sharedAccount {
	acc := &sharedAccount{rate: jobs[0].RateLimit, maxInFlight: jobs[0].MaxInFlight}
	for _, j := range jobs {
		acc.jobs = append(acc.jobs, j.Name)
		if perSecond(j.RateLimit) < perSecond(acc.rate) {
			acc.rate = j.RateLimit
		}
		acc.maxInFlight = min(acc.maxInFlight, j.MaxInFlight)
	}
	acc.budget = httpsource.NewBudget(acc.rate, acc.maxInFlight)
	return acc
}

// perSecond is a rate's requests per second; unlimited is +Inf, so that
// any limit is stricter.
func perSecond(r httpsource.Rate) float64 {
	if r.N <= 0 || r.Per <= 0 {
		return math.Inf(1)
	}
	return float64(r.N) / r.Per.Seconds()
}

// budget is the shared budget of the job's account; nil for a job alone
// on it, whose client builds its own from its rate_limit.
func (b *accountBudgets) budget(job string) *httpsource.Budget {
	if acc := b.byJob[job]; acc != nil {
		return acc.budget
	}
	return nil
}

// limits are the rate and the requests in flight the job runs under: its
// account's when shared, else its own.
func (b *accountBudgets) limits(j Job) (httpsource.Rate, int) {
	if acc := b.byJob[j.Name]; acc != nil {
		return acc.rate, acc.maxInFlight
	}
	return j.RateLimit, j.MaxInFlight
}
