package pipeline

import (
	"fmt"

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
