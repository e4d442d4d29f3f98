package httpsource

import (
	"fmt"
	"hash/maphash"

	"github.com/saas-export/export/schema"
)

// IDDigest sums up the user ids of a read, in any order, in a few words:
// two digests with the same seed are equal when their reads hold the same
// ids, as many times each. A count, a sum and a xor of 64-bit hashes tell
// two such multisets apart short of a collision in all three.
type IDDigest struct {
	seed     maphash.Seed
	count    int64
	sum, xor uint64
}

// NewIDDigest returns an empty digest; only digests of the same seed
// compare or merge.
func NewIDDigest(seed maphash.Seed) IDDigest { return IDDigest{seed: seed} }

// Add counts the ids of users.
func (d *IDDigest) Add(users []schema.User) {
	for i := range users {
		h := maphash.String(d.seed, users[i].ID)
		d.count++
		d.sum += h
		d.xor ^= h
	}
}

// Merge counts the ids that o counted, as if added here.
func (d *IDDigest) Merge(o IDDigest) {
	d.count += o.count
	d.sum += o.sum
	d.xor ^= o.xor
}

// Differs describes how a confirming read c differs from the first read d.
func (d IDDigest) Differs(c IDDigest) string {
	if c.count != d.count {
		return fmt.Sprintf("the first read held %d users, the confirming read %d", d.count, c.count)
	}
	return fmt.Sprintf("both reads held %d users, but not the same ones", d.count)
}
