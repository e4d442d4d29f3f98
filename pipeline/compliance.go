package pipeline

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/saas-export/export/schema"
	"github.com/saas-export/export/sources"
)

// The compliance controls: `columns`, `hash` and its key, set under
// `output` for every job, or per job (directly or under its `output`).

// minHashKey is the shortest hash_key accepted: a short HMAC key makes
// the pseudonyms of low-entropy values (phone numbers) easy to reverse.
const minHashKey = 16

// complianceColumns are the columns `columns` and `hash` may name, in
// schema order: all of schema v1 but raw, which include_raw controls.
var complianceColumns = func() []schema.Column {
	return slices.DeleteFunc(schema.V1(false).Columns, func(c schema.Column) bool { return c.ID == schema.ColRaw })
}()

func complianceColumn(name string) (schema.Column, bool) {
	i := slices.IndexFunc(complianceColumns, func(c schema.Column) bool { return c.Name == name })
	if i < 0 {
		return schema.Column{}, false
	}
	return complianceColumns[i], true
}

func complianceColumnNames() string {
	names := make([]string, len(complianceColumns))
	for i, c := range complianceColumns {
		names[i] = c.Name
	}
	return strings.Join(names, ", ")
}

// compliance lays the compliance keys set in m over o.
func (d *decoder) compliance(m map[string]value, o *Output) {
	d.columns(m["columns"], &o.Columns)
	if v := m["hash"]; v.present() {
		o.Hash = d.columnList(v, checkHashable)
	}
	key, file := m["hash_key"], m["hash_key_file"]
	if !key.present() && !file.present() {
		return
	}
	key.secret = true
	s, ok := d.secretValue(key, file, "hash_key")
	if !ok {
		return
	}
	if len(s) < minHashKey {
		at := key
		if file.present() {
			at = file
		}
		d.errorf(at, "must be at least %d bytes: a short key lets the pseudonyms be reversed by trying every value", minHashKey)
		return
	}
	o.HashKey = s
}

func (d *decoder) columns(v value, c *Columns) {
	m := d.mapping(v, "keep", "drop")
	keep, drop := m["keep"], m["drop"]
	switch {
	case !v.present() || v.node.Kind != yaml.MappingNode: // mapping reported it
	case keep.present() && drop.present():
		d.errorf(v, "set keep or drop, not both")
	case keep.present():
		*c = Columns{Keep: d.columnList(keep, nil)}
	case drop.present():
		*c = Columns{Drop: d.columnList(drop, checkDroppable)}
	default:
		d.errorf(v, "set keep or drop (a list of column names)")
	}
}

// columnList decodes a list of column names, each one known and passing
// check (nil: any), and returns them in schema order.
func (d *decoder) columnList(v value, check func(schema.Column) string) []string {
	items := d.list(v, "a list of column names")
	if v.node.Kind != yaml.SequenceNode {
		return nil
	}
	listed := map[schema.ColumnID]bool{}
	for _, item := range items {
		name, ok := d.str(item)
		if !ok {
			continue
		}
		c, known := complianceColumn(name)
		switch {
		case name == "raw":
			d.errorf(item, "raw is not a column to name here: it is written only with include_raw: true")
		case !known:
			d.errorf(item, "unknown column %q (columns: %s)", name, complianceColumnNames())
		case listed[c.ID]:
			d.errorf(item, "duplicate column %q", name)
		default:
			if check != nil {
				if problem := check(c); problem != "" {
					d.errorf(item, "%s", problem)
				}
			}
			listed[c.ID] = true
		}
	}
	names := []string{} // non-nil: an empty list is set, unlike an absent one
	for _, c := range complianceColumns {
		if listed[c.ID] {
			names = append(names, c.Name)
		}
	}
	return names
}

func checkDroppable(c schema.Column) string {
	if c.Required {
		return fmt.Sprintf("%s is a required column, always written: it cannot be dropped", c.Name)
	}
	return ""
}

func checkHashable(c schema.Column) string {
	switch {
	case c.Required:
		return fmt.Sprintf("%s is a required column, which identifies the row: it cannot be hashed", c.Name)
	case c.Type != schema.String && c.Type != schema.StringList:
		return fmt.Sprintf("%s is a %s column: only string and list<string> columns can be hashed", c.Name, c.Type)
	}
	return ""
}

// droppedColumns are the names of the columns c leaves out, in schema order.
func droppedColumns(c Columns) []string {
	if c.Keep == nil {
		return c.Drop
	}
	var dropped []string
	for _, col := range complianceColumns {
		if !col.Required && !slices.Contains(c.Keep, col.Name) {
			dropped = append(dropped, col.Name)
		}
	}
	return dropped
}

// complianceProblems checks what a job's effective controls say together.
// Each key may come from the job, its output or the top-level output
// (top): a problem points at the nearest.
func (d *decoder) complianceProblems(j decodedJob, top map[string]value) {
	at := func(keys ...string) (value, bool) {
		for _, m := range []map[string]value{j.fields, j.output, top} {
			if v, ok := firstPresent(m, keys); ok {
				return v, true
			}
		}
		return j.item, false
	}
	o := j.Output
	dropped := droppedColumns(o.Columns)
	if len(o.Hash) > 0 {
		hashAt, _ := at("hash")
		if _, keyed := at("hash_key", "hash_key_file"); !keyed {
			d.errorf(hashAt, "job %q: hash needs hash_key or hash_key_file (the HMAC key)", j.Name)
		}
		for _, name := range o.Hash {
			if slices.Contains(dropped, name) {
				columnsAt, _ := at("columns")
				line, _ := columnsAt.pos()
				d.errorf(hashAt, "job %q: %s is both hashed and dropped (columns at line %d): hash it or drop it", j.Name, name, line)
			}
		}
	}
	if o.IncludeRaw {
		rawAt, _ := at("include_raw")
		d.rawFieldProblems(j, slices.Concat(dropped, o.Hash), rawAt)
	}
}

// rawFieldProblems refuses include_raw with a dropped or hashed column
// (of names) that the job's provider does not map to its raw members:
// raw could not be scrubbed of it. Every provider maps every column (a
// test sees to it), so this is a registry mistake, caught before any run.
func (d *decoder) rawFieldProblems(j decodedJob, names []string, rawAt value) {
	i := slices.IndexFunc(d.providers, func(p sources.Provider) bool { return p.Name == j.Provider })
	if i < 0 {
		return // an unknown provider is reported already
	}
	for _, name := range names {
		c, _ := complianceColumn(name) // a known name: columnList checked it
		if _, ok := d.providers[i].RawFields[c.ID]; !ok {
			d.errorf(rawAt, "job %q: provider %s does not say which raw members %s is read from, so raw cannot be scrubbed of it",
				j.Name, j.Provider, name)
		}
	}
}

// ManifestColumns is the manifest's account of the compliance controls.
type ManifestColumns struct {
	Kept    []string `json:"kept"` // the columns written, hashed ones included
	Hashed  []string `json:"hashed"`
	Dropped []string `json:"dropped"`
}

// protection hashes the columns a job pseudonymizes and, with
// include_raw, scrubs the raw record of every column it drops or hashes.
type protection struct {
	key      []byte
	hashed   []schema.ColumnID
	provider string
	raw      *rawScrubber // nil: no raw column, or nothing to scrub from it
	// rawErr says why raw cannot be scrubbed (a provider without
	// RawFields for a column, which the config check refuses): every
	// record's raw is then withheld.
	rawErr error
}

// protectOutput narrows out's schema to the columns job writes, so that
// every format leaves the dropped ones out, and records the controls in
// m. It returns what pseudonymizes and scrubs each page before it is
// written: the provider's RawFields say where the columns sit in the raw
// record.
func protectOutput(out *jobOutput, job Job, m *Manifest) protection {
	o := job.Output
	dropped := droppedColumns(o.Columns)
	p := protection{key: []byte(o.HashKey), provider: job.Provider}
	mc := ManifestColumns{Kept: []string{}, Hashed: []string{}, Dropped: []string{}}
	var cols, droppedCols, hashedCols []schema.Column
	for _, c := range out.schema.Columns {
		if slices.Contains(dropped, c.Name) {
			mc.Dropped = append(mc.Dropped, c.Name)
			droppedCols = append(droppedCols, c)
			continue
		}
		cols = append(cols, c)
		mc.Kept = append(mc.Kept, c.Name)
		if slices.Contains(o.Hash, c.Name) {
			mc.Hashed = append(mc.Hashed, c.Name)
			hashedCols = append(hashedCols, c)
			p.hashed = append(p.hashed, c.ID)
		}
	}
	out.schema = &schema.Schema{Version: out.schema.Version, Columns: cols}
	m.Columns, m.HashKeyFingerprint = mc, ""
	if len(p.hashed) > 0 {
		m.HashKeyFingerprint = hashKeyFingerprint(o.HashKey)
	}
	if o.IncludeRaw && len(droppedCols)+len(hashedCols) > 0 {
		provider, _ := sources.Lookup(job.Provider) // validated at load
		p.raw, p.rawErr = newRawScrubber(provider.RawFields, droppedCols, hashedCols)
	}
	return p
}

// fingerprintDomain separates the fingerprint from any HMAC pseudonym: it
// is no HMAC, and no value hashes to it.
const fingerprintDomain = "saas-export hash_key fingerprint v1\x00"

// hashKeyFingerprint tells which key made a run's pseudonyms, so that two
// runs can be seen to be joinable, without revealing the key.
func hashKeyFingerprint(key string) string {
	sum := sha256.Sum256([]byte(fingerprintDomain + key))
	return hex.EncodeToString(sum[:8])
}

// pseudonymizer computes HMAC-SHA256 pseudonyms, in lowercase hex, under
// one key: the one function for columns and raw members alike, so that
// the two agree. It reuses its hash, so it belongs to one goroutine.
type pseudonymizer struct {
	mac hash.Hash
	sum [sha256.Size]byte
}

func newPseudonymizer(key []byte) *pseudonymizer {
	return &pseudonymizer{mac: hmac.New(sha256.New, key)}
}

func (z *pseudonymizer) pseudonym(s string) string {
	z.mac.Reset()
	z.mac.Write([]byte(s))
	return hex.EncodeToString(z.mac.Sum(z.sum[:0]))
}

// apply replaces each hashed value with its pseudonym, then scrubs each
// raw record. Null stays null and a list keeps its length; "" is a value,
// and hashed. A raw record that cannot be scrubbed is withheld (null)
// and reported: the error, naming the provider and the record, must fail
// the job.
func (p protection) apply(users []schema.User) error {
	if len(p.hashed) == 0 && p.raw == nil && p.rawErr == nil {
		return nil
	}
	pseudonym := newPseudonymizer(p.key).pseudonym
	p.hashColumns(users, pseudonym)
	return p.scrubRaw(users, pseudonym)
}

// scrubRaw scrubs the page's raw records, or withholds them all when the
// job's scrubber could not be built.
func (p protection) scrubRaw(users []schema.User, pseudonym func(string) string) error {
	if p.rawErr != nil {
		for i := range users {
			users[i].Raw = nil
		}
		return fmt.Errorf("provider %s: %w", p.provider, p.rawErr)
	}
	if p.raw == nil {
		return nil
	}
	if err := p.raw.scrubUsers(users, pseudonym); err != nil {
		return fmt.Errorf("provider %s: %w", p.provider, err)
	}
	return nil
}

// hashColumns replaces each hashed column's values with their pseudonyms.
func (p protection) hashColumns(users []schema.User, pseudonym func(string) string) {
	for i := range users {
		u := &users[i]
		for _, id := range p.hashed {
			if f := stringField(u, id); f != nil {
				if f.Valid {
					f.V = pseudonym(f.V)
				}
				continue
			}
			list := listField(u, id)
			if *list == nil {
				continue
			}
			// A new slice: the provider may share the original's array.
			hashed := make([]string, len(*list))
			for k, s := range *list {
				hashed[k] = pseudonym(s)
			}
			*list = hashed
		}
	}
}

// stringField is the hashable String column's field, nil for a list.
func stringField(u *schema.User, id schema.ColumnID) *schema.Null[string] {
	switch id {
	case schema.ColKey:
		return &u.Key
	case schema.ColUsername:
		return &u.Username
	case schema.ColFirstName:
		return &u.FirstName
	case schema.ColLastName:
		return &u.LastName
	case schema.ColFullName:
		return &u.FullName
	case schema.ColEmail:
		return &u.Email
	case schema.ColPhone:
		return &u.Phone
	case schema.ColLanguage:
		return &u.Language
	case schema.ColOrganizationID:
		return &u.OrganizationID
	}
	return nil
}

// listField is the hashable StringList column's field.
func listField(u *schema.User, id schema.ColumnID) *[]string {
	switch id {
	case schema.ColPhones:
		return &u.Phones
	case schema.ColRoles:
		return &u.Roles
	}
	panic(fmt.Sprintf("pipeline: column %d is not hashable", id))
}
