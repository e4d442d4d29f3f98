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
// under location, a job's Parquet folder in the default layout
// ({job}/{format}/dt={date}/run={run_id}): nothing but data files and names
// Athena skips (_manifest.json, _SUCCESS, .tmp files) lies below it. dt is
// a projected partition, so a new day needs no MSCK REPAIR TABLE. run is
// not: run ids are random past their timestamp, which no projection type
// can enumerate (injected would make every query name a run). Athena reads
// the run= folders below a day, and the run_id column tells the runs apart;
// AthenaViews select among them.
func (s *Schema) AthenaDDL(table, location string) string {
	if !strings.HasSuffix(location, "/") {
		location += "/"
	}
	var b strings.Builder
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
	b.WriteString("TBLPROPERTIES (\n")
	b.WriteString("  'parquet.compression' = 'ZSTD',\n")
	b.WriteString("  'projection.enabled' = 'true',\n")
	b.WriteString("  'projection.dt.type' = 'date',\n")
	b.WriteString("  'projection.dt.format' = 'yyyy-MM-dd',\n")
	b.WriteString("  'projection.dt.range' = '2020-01-01,NOW',\n")
	b.WriteString("  'projection.dt.interval' = '1',\n")
	b.WriteString("  'projection.dt.interval.unit' = 'DAYS',\n")
	fmt.Fprintf(&b, "  'storage.location.template' = '%sdt=${dt}/'\n", location)
	b.WriteString(");\n")
	return b.String()
}

// AthenaViews renders the views over AthenaDDL's table that count each
// user once: the latest run, the latest run of each day (reruns of a day
// sit side by side under its dt), and, for incremental jobs whose runs
// hold only what changed, each user's latest row. The latest run is the
// one with the latest extracted_at, run_id breaking a tie, so run ids given
// with --run-id need not sort. It is Trino's SQL (Athena's engine, which
// quotes names with " where DDL takes `), and DuckDB runs it too.
func (s *Schema) AthenaViews(table string) string {
	cols := make([]string, len(s.Columns))
	for i, c := range s.Columns {
		cols[i] = `"` + c.Name + `"`
	}
	list := strings.Join(cols, ", ") + `, "dt"`
	const newestFirst = `ORDER BY "extracted_at" DESC, "run_id" DESC`
	var b strings.Builder
	b.WriteString("-- The latest run: every user it exported, once.\n")
	fmt.Fprintf(&b, "CREATE OR REPLACE VIEW \"%[1]s_latest\" AS\nSELECT %[2]s FROM \"%[1]s\"\n", table, list)
	fmt.Fprintf(&b, "WHERE \"run_id\" = (SELECT \"run_id\" FROM \"%s\" %s LIMIT 1);\n\n", table, newestFirst)
	b.WriteString("-- The latest run of each day: a day's reruns are not counted twice.\n")
	fmt.Fprintf(&b, "CREATE OR REPLACE VIEW \"%[1]s_daily\" AS\nSELECT %[2]s FROM (\n", table, list)
	fmt.Fprintf(&b, "  SELECT *, dense_rank() OVER (PARTITION BY \"dt\" %s) AS \"run_rank\" FROM \"%s\"\n", newestFirst, table)
	b.WriteString(") WHERE \"run_rank\" = 1;\n\n")
	b.WriteString("-- Each user's latest row, for incremental jobs (a run holds only what changed).\n")
	fmt.Fprintf(&b, "CREATE OR REPLACE VIEW \"%[1]s_current\" AS\nSELECT %[2]s FROM (\n", table, list)
	fmt.Fprintf(&b, "  SELECT *, row_number() OVER (PARTITION BY \"provider\", \"job\", \"id\" %s) AS \"row_rank\" FROM \"%s\"\n", newestFirst, table)
	b.WriteString(") WHERE \"row_rank\" = 1;\n")
	return b.String()
}
