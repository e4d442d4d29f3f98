package pipeline

import (
	"fmt"
	"hash/maphash"

	"github.com/saas-export/export/schema"
)

// idDigest sums up a set of user ids, in any order, in a few words: two
// digests with the same seed are equal when their reads hold the same ids.
// Sets are what is compared (drift checking has already refused
// duplicates), so a sum and a xor of 64-bit hashes tell two sets apart
// short of a collision in both.
type idDigest struct {
	seed     maphash.Seed
	count    int64
	sum, xor uint64
}

func newIDDigest(seed maphash.Seed) idDigest { return idDigest{seed: seed} }

func (d *idDigest) add(users []schema.User) {
	for i := range users {
		h := maphash.String(d.seed, users[i].ID)
		d.count++
		d.sum += h
		d.xor ^= h
	}
}

// differs describes how a confirming read c differs from the first read d.
func (d idDigest) differs(c idDigest) string {
	if c.count != d.count {
		return fmt.Sprintf("the first read held %d users, the confirming read %d", d.count, c.count)
	}
	return fmt.Sprintf("both reads held %d users, but not the same ones", d.count)
}
