package schema

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
)

// Arrow returns the schema as an Arrow schema: the types a Parquet reader
// such as pqarrow, DuckDB or Spark sees in the files.
func (s *Schema) Arrow() *arrow.Schema {
	fields := make([]arrow.Field, len(s.Columns))
	for i, c := range s.Columns {
		fields[i] = arrow.Field{Name: c.Name, Type: c.Type.Arrow(), Nullable: !c.Required}
	}
	md := arrow.NewMetadata([]string{"schema_version"}, []string{fmt.Sprint(s.Version)})
	return arrow.NewSchema(fields, &md)
}

// Arrow returns the Arrow data type of a logical type.
func (t Type) Arrow() arrow.DataType {
	switch t {
	case String:
		return arrow.BinaryTypes.String
	case StringList:
		return arrow.ListOf(arrow.BinaryTypes.String)
	case Bool:
		return arrow.FixedWidthTypes.Boolean
	case Timestamp:
		return &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}
	}
	panic(fmt.Sprintf("schema: unknown type %d", int(t)))
}

// athenaType is the Hive DDL type Athena uses to read a column's Parquet type.
func (t Type) athenaType() string {
	switch t {
	case String:
		return "string"
	case StringList:
		return "array<string>"
	case Bool:
		return "boolean"
	case Timestamp:
		return "timestamp"
	}
	panic(fmt.Sprintf("schema: unknown type %d", int(t)))
}

// JSON renders the schema as a JSON document for tools and humans.
func (s *Schema) JSON() ([]byte, error) {
	type column struct {
		Name     string `json:"name"`
		Type     string `json:"type"`
		Required bool   `json:"required"`
		Doc      string `json:"doc,omitempty"`
	}
	doc := struct {
		Version int      `json:"version"`
		Columns []column `json:"columns"`
	}{Version: s.Version}
	for _, c := range s.Columns {
		doc.Columns = append(doc.Columns, column{c.Name, c.Type.String(), c.Required, c.Doc})
	}
	return json.MarshalIndent(doc, "", "  ")
}

// AthenaDDL renders a CREATE EXTERNAL TABLE statement for the Parquet files
// under location, partitioned by dt as the default output path lays them out.
// Athena reads the run=<id> folders below each dt recursively; load new
// partitions with MSCK REPAIR TABLE.
func (s *Schema) AthenaDDL(table, location string) string {
	var b strings.Builder
	// Said in the DDL itself, because it is where a user meets it.
	b.WriteString("-- Caution: Athena reads every object below LOCATION but names starting with _ or .\n")
	b.WriteString("-- (so _manifest.json and _SUCCESS are skipped), and JSONL or CSV files beside the\n")
	b.WriteString("-- Parquet ones make queries fail: give such a table a job with formats: [parquet].\n")
	fmt.Fprintf(&b, "CREATE EXTERNAL TABLE IF NOT EXISTS `%s` (\n", table)
	for i, c := range s.Columns {
		sep := ","
		if i == len(s.Columns)-1 {
			sep = ""
		}
		fmt.Fprintf(&b, "  `%s` %s%s\n", c.Name, c.Type.athenaType(), sep)
	}
	b.WriteString(")\nPARTITIONED BY (`dt` string)\nSTORED AS PARQUET\n")
	fmt.Fprintf(&b, "LOCATION '%s'\n", location)
	b.WriteString("TBLPROPERTIES ('parquet.compression' = 'ZSTD');\n")
	return b.String()
}
