package sinks

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"unsafe"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress"

	"github.com/saas-export/export/schema"
)

// maxRowGroupBytes caps a row group by its buffered size as well as by
// rows, as the contract promises (at most 128 MiB), for rows much wider
// than usual, such as large raw records.
const maxRowGroupBytes = 128 << 20

// parquetBatchRows is how many rows are assembled before they are handed
// to the parquet writer: enough to amortise the call, small enough that
// the reused value buffer stays a few hundred KiB.
const parquetBatchRows = 512

// parquetFormat writes Parquet with logical types STRING,
// TIMESTAMP(MICROS, adjusted to UTC), LIST of STRING and BOOLEAN, in the
// schema's column order, with key/value metadata schema_version.
//
// Lists use the standard 3-level layout with optional elements:
//
//	optional group phones (LIST) {
//	  repeated group list {
//	    optional binary element (STRING);
//	  }
//	}
//
// which is what pyarrow writes and what pyarrow, DuckDB, Spark and Athena
// read as list<string>. Optional (not required) elements make the Arrow
// type list<element: string> with a nullable element, the same type as
// schema.Arrow gives; a required element would read as a different type.
type parquetFormat struct {
	codec        compress.Codec
	rowGroupRows int64
}

func (parquetFormat) Name() string { return FormatParquet }
func (parquetFormat) Ext() string  { return "parquet" }

func (parquetFormat) ContentType() string { return "application/vnd.apache.parquet" }

// compressesItself marks a format whose files must not be wrapped in
// gzip or zstd: Parquet compresses its pages, and readers need the
// footer at the end of a plain file.
func (parquetFormat) compressesItself() {}

func (f parquetFormat) NewEncoder(w io.Writer, s *schema.Schema) (Encoder, error) {
	cols, root, err := parquetColumns(s)
	if err != nil {
		return nil, err
	}
	config, err := parquet.NewWriterConfig(
		parquet.NewSchema("schema", root),
		parquet.Compression(f.codec),
		parquet.KeyValueMetadata("schema_version", strconv.Itoa(s.Version)),
	)
	if err != nil {
		return nil, fmt.Errorf("parquet: writer config: %w", err)
	}
	return &parquetEncoder{w: parquet.NewWriter(w, config), cols: cols,
		groupRows: f.rowGroupRows, groupBytes: maxRowGroupBytes}, nil
}

// parquetColumn is how one schema column maps to its Parquet leaf: each
// column of the schema is exactly one leaf, so the leaf index is the
// column's position.
type parquetColumn struct {
	schema.Column
	index int
	// def is the definition level of a present value: 0 for a required
	// column, 1 for an optional one. For a list it is the level of an empty
	// list; an element is two levels deeper (repeated group, optional
	// element).
	def int
}

func parquetColumns(s *schema.Schema) ([]parquetColumn, parquet.Node, error) {
	cols := make([]parquetColumn, len(s.Columns))
	names := make([]string, len(s.Columns))
	nodes := make([]parquet.Node, len(s.Columns))
	for i, c := range s.Columns {
		node, err := parquetNode(c)
		if err != nil {
			return nil, nil, err
		}
		def := 1
		if c.Required {
			def = 0
		} else {
			node = parquet.Optional(node)
		}
		cols[i] = parquetColumn{Column: c, index: i, def: def}
		names[i], nodes[i] = c.Name, node
	}
	return cols, newOrderedGroup(names, nodes), nil
}

// parquetNode is the Parquet node of a column, before its repetition.
func parquetNode(c schema.Column) (parquet.Node, error) {
	switch c.Type {
	case schema.String:
		return stringNode(c.ID), nil
	case schema.StringList:
		return parquet.List(parquet.Optional(stringNode(c.ID))), nil
	case schema.Bool:
		return parquet.Leaf(parquet.BooleanType), nil
	case schema.Timestamp:
		return parquet.Timestamp(parquet.Microsecond), nil
	}
	return nil, fmt.Errorf("parquet: column %s: unsupported type %s", c.Name, c.Type)
}

// stringNode is a STRING leaf, dictionary-encoded for the columns that
// repeat few values.
func stringNode(id schema.ColumnID) parquet.Node {
	if lowCardinality(id) {
		return parquet.Encoded(parquet.String(), &parquet.RLEDictionary)
	}
	return parquet.String()
}

// lowCardinality reports whether a string column holds few distinct
// values per file, so dictionary encoding shrinks it and the buffered row
// group; for columns like id or email it would only cost a hash lookup a
// value before falling back to plain pages.
func lowCardinality(id schema.ColumnID) bool {
	switch id {
	case schema.ColProvider, schema.ColJob, schema.ColRunID, schema.ColLanguage,
		schema.ColOrganizationID, schema.ColRoles:
		return true
	}
	return false
}

// parquetEncoder flushes a row group when it holds groupRows rows or
// groupBytes bytes: parquet-go buffers the whole row group in memory
// until then, as column chunks must be contiguous in the file.
type parquetEncoder struct {
	w          *parquet.Writer
	cols       []parquetColumn
	groupRows  int64 // most rows in a row group
	groupBytes int64 // most bytes in a row group, before compression

	inGroup int64 // rows in the row group being buffered
	flushed int64 // w.Size() after the last row group flush

	values []parquet.Value // backing store of rows, reused across batches
	ends   []int           // per row of the batch, its end in values
	rows   []parquet.Row
}

func (e *parquetEncoder) Write(rows []schema.User) error {
	for len(rows) > 0 {
		n := int(min(int64(len(rows)), parquetBatchRows, e.groupRows-e.inGroup))
		if err := e.writeBatch(rows[:n]); err != nil {
			return err
		}
		rows = rows[n:]
		e.inGroup += int64(n)
		if e.inGroup == e.groupRows || e.w.Size()-e.flushed >= e.groupBytes {
			if err := e.flushRowGroup(); err != nil {
				return err
			}
		}
	}
	return nil
}

func (e *parquetEncoder) flushRowGroup() error {
	if err := e.w.Flush(); err != nil {
		return fmt.Errorf("parquet: flush row group: %w", err)
	}
	e.inGroup, e.flushed = 0, e.w.Size()
	return nil
}

func (e *parquetEncoder) writeBatch(users []schema.User) error {
	e.values, e.ends = e.values[:0], e.ends[:0]
	for i := range users {
		var err error
		if e.values, err = e.appendRow(e.values, &users[i]); err != nil {
			return err
		}
		e.ends = append(e.ends, len(e.values))
	}
	e.rows = e.rows[:0]
	start := 0
	for _, end := range e.ends {
		e.rows = append(e.rows, e.values[start:end:end])
		start = end
	}
	_, err := e.w.WriteRows(e.rows)
	// The values point into the users' strings: drop them so the buffer
	// does not keep a batch of users alive.
	clear(e.values)
	if err != nil {
		return fmt.Errorf("parquet: write rows: %w", err)
	}
	return nil
}

func (e *parquetEncoder) Close() error {
	if err := e.w.Close(); err != nil {
		return fmt.Errorf("parquet: close: %w", err)
	}
	return nil
}

// appendRow appends the values of u, one or more per column in column
// order, as parquet.Writer.WriteRows expects them.
func (e *parquetEncoder) appendRow(vs []parquet.Value, u *schema.User) ([]parquet.Value, error) {
	for i := range e.cols {
		c := &e.cols[i] // not a copy: this runs some 25 times a row
		if c.Type == schema.StringList {
			list := u.ListValue(c.ID)
			if list == nil && c.Required {
				return vs, requiredNullError(u, c)
			}
			vs = appendListValues(vs, c, list)
			continue
		}
		v, valid := scalarValue(u, c)
		switch {
		case valid:
			vs = appendLeveled(vs, v, 0, c.def, c.index)
		case c.Required:
			return vs, requiredNullError(u, c)
		default:
			vs = appendLeveled(vs, parquet.NullValue(), 0, 0, c.index)
		}
	}
	return vs, nil
}

// scalarValue returns a string, bool or timestamp column of u, and
// whether it is present.
func scalarValue(u *schema.User, c *parquetColumn) (parquet.Value, bool) {
	switch c.Type {
	case schema.String:
		s := stringOrRaw(u, c.ID)
		return parquet.ByteArrayValue(s.V), s.Valid
	case schema.Bool:
		b := u.BoolValue(c.ID)
		return parquet.BooleanValue(b.V), b.Valid
	case schema.Timestamp:
		t := u.TimeValue(c.ID)
		return parquet.Int64Value(t.V.UnixMicro()), t.Valid
	}
	panic(fmt.Sprintf("parquet: column %s: unsupported type %s", c.Name, c.Type)) // parquetNode refused it
}

func requiredNullError(u *schema.User, c *parquetColumn) error {
	return fmt.Errorf("parquet: user %q: required column %s is null", u.ID, c.Name)
}

// appendListValues appends a list column: a null at level 0 for a nil
// list, a null at the list's own level for an empty one, else one value
// per element, the first starting a new row (repetition level 0) and the
// others continuing the list (repetition level 1).
func appendListValues(vs []parquet.Value, c *parquetColumn, list []string) []parquet.Value {
	switch {
	case list == nil:
		return appendLeveled(vs, parquet.NullValue(), 0, 0, c.index)
	case len(list) == 0:
		return appendLeveled(vs, parquet.NullValue(), 0, c.def, c.index)
	}
	for i, s := range list {
		rep := 1
		if i == 0 {
			rep = 0
		}
		vs = appendLeveled(vs, parquet.ByteArrayValue(stringBytes(s)), rep, c.def+2, c.index)
	}
	return vs
}

// appendLeveled appends v with its levels and column index, set in place
// with parquet-go's setters, which inline where Value.Level does not: it
// runs some 25 times a row.
func appendLeveled(vs []parquet.Value, v parquet.Value, rep, def, col int) []parquet.Value {
	vs = append(vs, v)
	p := &vs[len(vs)-1]
	p.SetRepetitionLevel(rep)
	p.SetDefinitionLevel(def)
	p.SetColumnIndex(col)
	return vs
}

// stringOrRaw returns a string column of u as bytes, reading the raw
// column directly because User.StringValue copies it.
func stringOrRaw(u *schema.User, id schema.ColumnID) schema.Null[[]byte] {
	if id == schema.ColRaw {
		return schema.Null[[]byte]{V: u.Raw, Valid: u.Raw != nil}
	}
	v := u.StringValue(id)
	return schema.Null[[]byte]{V: stringBytes(v.V), Valid: v.Valid}
}

// stringBytes views s as bytes without copying. parquet.Value holds a
// pointer to its bytes; parquet-go only reads them and copies them into
// its column buffers during WriteRows, so the string is never written
// through, and no per-value copy is needed to build a row.
func stringBytes(s string) []byte {
	return unsafe.Slice(unsafe.StringData(s), len(s))
}

// orderedGroup is a Parquet group whose fields keep the schema's column
// order: parquet.Group is a map and sorts its fields by name, which would
// reorder the columns that readers show.
type orderedGroup struct {
	// Group holds the same fields by name and answers every method but
	// Fields and String; none of its other answers depends on field order.
	parquet.Group
	fields []parquet.Field
}

func newOrderedGroup(names []string, nodes []parquet.Node) *orderedGroup {
	g := &orderedGroup{Group: make(parquet.Group, len(names)), fields: make([]parquet.Field, len(names))}
	for i, name := range names {
		g.Group[name] = nodes[i]
		// A one-field group makes a parquet.Field that names the node and
		// finds its value by name, as parquet.Group's fields do.
		g.fields[i] = parquet.Group{name: nodes[i]}.Fields()[0]
	}
	return g
}

func (g *orderedGroup) Fields() []parquet.Field { return g.fields }

func (g *orderedGroup) String() string {
	var b strings.Builder
	_ = parquet.PrintSchema(&b, "", g) // a strings.Builder does not fail
	return b.String()
}
