package schema_test

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	_ "github.com/duckdb/duckdb-go/v2" // a real, independent Parquet and hive-partition reader

	"github.com/saas-export/export/pipeline"
	"github.com/saas-export/export/schema"
	"github.com/saas-export/export/sources/simulator"
)

// lakeRun is one export the lake test made, and what its summary says.
type lakeRun struct {
	id      string
	day     string
	records map[string]int64 // by job
}

// exportLake runs two jobs three times into one destination with the
// default layout: twice on one day (a rerun), then on the next, with a
// different number of users each time so that the runs differ.
func exportLake(t *testing.T) (string, []lakeRun) {
	t.Helper()
	out := t.TempDir()
	cfg, err := pipeline.Parse("jobs.yaml", []byte(`version: 1
output: {destination: `+out+`}
jobs:
  - {name: medipim, provider: medipim, base_url: simulator, rate_limit: 1000/1s}
  - {name: kare, provider: kare, base_url: simulator, rate_limit: 1000/1s,
     auth: {type: bearer, token: t, headers: {x-session-token: s}}, output: {max_rows_per_file: 70}}
`), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	day1 := time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)
	var runs []lakeRun
	for i, at := range []time.Time{day1, day1.Add(3 * time.Hour), day1.Add(24 * time.Hour)} {
		id := pipeline.NewRunID(at)
		sum, err := pipeline.Run(context.Background(), cfg, pipeline.Options{
			RunID: id, Now: at, Simulator: simulator.Options{Users: 90 + 40*i, Seed: uint64(i + 1)},
		})
		if err != nil || sum.Status != pipeline.StatusSucceeded {
			t.Fatalf("run %s: %v %+v", id, err, sum)
		}
		r := lakeRun{id: id, day: at.Format(time.DateOnly), records: map[string]int64{}}
		for _, j := range sum.Jobs {
			r.records[j.Job] = j.Records
		}
		runs = append(runs, r)
	}
	return out, runs
}

func duckDB(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// TestDuckDBReadsTheDefaultLayout: DuckDB with hive partitioning over
// out/**/*.parquet sees each run's users once and reads data files only.
func TestDuckDBReadsTheDefaultLayout(t *testing.T) {
	out, runs := exportLake(t)
	db := duckDB(t)
	glob := filepath.ToSlash(out) + "/**/*.parquet"

	rows, err := db.Query(`SELECT run, dt, job, count(*), count(DISTINCT id), count(DISTINCT filename)
		FROM read_parquet(?, hive_partitioning = true, hive_types_autocast = false, filename = true) GROUP BY ALL ORDER BY ALL`, glob)
	if err != nil {
		t.Fatal(err)
	}
	type key struct{ run, job string }
	got := map[key]int64{}
	for rows.Next() {
		var run, dt, job string
		var n, ids, files int64
		if err := rows.Scan(&run, &dt, &job, &n, &ids, &files); err != nil {
			t.Fatal(err)
		}
		if n != ids {
			t.Errorf("run %s, job %s: %d rows but %d users", run, job, n, ids)
		}
		got[key{run, job}] = n
		for _, r := range runs {
			if r.id == run && r.day != dt {
				t.Errorf("run %s read under dt=%s, it ran on %s", run, dt, r.day)
			}
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	want := map[key]int64{}
	for _, r := range runs {
		for job, n := range r.records {
			want[key{r.id, job}] = n
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("rows by run and job:\n got  %v\n want %v", got, want)
	}

	// Every file DuckDB read is a data file a manifest lists.
	var files []string
	if err := queryColumn(db, `SELECT DISTINCT filename FROM read_parquet(?, filename = true) ORDER BY 1`, &files, glob); err != nil {
		t.Fatal(err)
	}
	listed := manifestFiles(t, out, "parquet")
	if !slices.Equal(files, listed) {
		t.Errorf("DuckDB read\n %v\nthe manifests list\n %v", files, listed)
	}
}

// TestAthenaTableOverTheDefaultLayout checks what `export schema --output
// athena` prints against what the runs wrote: below LOCATION (a job's
// Parquet folder) Athena would read only Parquet files, the partition
// folders match the projection, the DDL's columns are the files'; and its
// views, run by DuckDB over a table of the same shape, count each user once.
func TestAthenaTableOverTheDefaultLayout(t *testing.T) {
	out, runs := exportLake(t)
	s := schema.V1(false)
	for _, job := range []string{"medipim", "kare"} {
		location := filepath.ToSlash(filepath.Join(out, job, "parquet")) + "/"
		ddl := s.AthenaDDL("users", location)
		if strings.Contains(strings.ToLower(ddl), "caution") || strings.Contains(ddl, "MSCK") {
			t.Errorf("the DDL still warns:\n%s", ddl)
		}
		template := regexp.MustCompile(`'storage.location.template' = '([^']*)'`).FindStringSubmatch(ddl)
		if template == nil || template[1] != location+"dt=${dt}/" {
			t.Fatalf("storage.location.template %v, want %sdt=${dt}/", template, location)
		}
		athenaReads(t, location)
	}

	db := duckDB(t)
	// The table as Athena sees it: dt from the path, run not a column.
	glob := filepath.ToSlash(filepath.Join(out, "kare", "parquet")) + "/*/*/*.parquet"
	if _, err := db.Exec(fmt.Sprintf(`CREATE VIEW users AS SELECT * EXCLUDE (run)
		FROM read_parquet('%s', hive_partitioning = true, hive_types = {'dt': VARCHAR})`, glob)); err != nil {
		t.Fatal(err)
	}
	checkColumns(t, db, s)
	for _, stmt := range strings.Split(s.AthenaViews("users"), ";\n") {
		if strings.TrimSpace(stmt) == "" {
			continue
		}
		if _, err := db.Exec(stmt); err != nil {
			t.Fatalf("%v:\n%s", err, stmt)
		}
	}
	last := runs[len(runs)-1]
	for _, c := range []struct {
		view  string
		query string
		want  string
	}{
		{"latest", `SELECT count(*), count(DISTINCT id), min(run_id), max(run_id) FROM users_latest`,
			fmt.Sprintf("%d %d %s %s", last.records["kare"], last.records["kare"], last.id, last.id)},
		{"daily", `SELECT string_agg(dt || ':' || run_id || ':' || n, ' ' ORDER BY dt) FROM
			(SELECT dt, run_id, count(*) AS n FROM users_daily GROUP BY ALL)`,
			fmt.Sprintf("%s:%s:%d %s:%s:%d", runs[1].day, runs[1].id, runs[1].records["kare"], last.day, last.id, last.records["kare"])},
		{"current", `SELECT count(*) - count(DISTINCT id) FROM users_current`, "0"},
	} {
		var got []string
		if err := queryRow(db, c.query, &got); err != nil {
			t.Fatalf("%s: %v", c.view, err)
		}
		if strings.Join(got, " ") != c.want {
			t.Errorf("users_%s: %s, want %s", c.view, strings.Join(got, " "), c.want)
		}
	}
	// Each user's latest row: as many as there are users in all runs.
	var current, everyone []string
	if err := queryRow(db, `SELECT count(*) FROM users_current`, &current); err != nil {
		t.Fatal(err)
	}
	if err := queryRow(db, `SELECT count(DISTINCT id) FROM users`, &everyone); err != nil {
		t.Fatal(err)
	}
	if current[0] != everyone[0] {
		t.Errorf("users_current has %s rows, the runs %s users", current[0], everyone[0])
	}
}

// athenaReads applies Athena's rule to location: it reads every object
// below it whose name does not start with _ or ., so each must be a
// Parquet file, in a folder dt=yyyy-MM-dd (the projection's format) right
// below location.
func athenaReads(t *testing.T, location string) {
	t.Helper()
	dtFolder := regexp.MustCompile(`^dt=\d{4}-\d{2}-\d{2}/run=[^/]+/[^/]+$`)
	read := 0
	err := filepath.WalkDir(location, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasPrefix(d.Name(), "_") || strings.HasPrefix(d.Name(), ".") {
			return err
		}
		rel, _ := filepath.Rel(location, p)
		rel = filepath.ToSlash(rel)
		if !strings.HasSuffix(rel, ".parquet") || !dtFolder.MatchString(rel) {
			t.Errorf("Athena would read %s, which is not a Parquet file in a dt= partition", rel)
		}
		read++
		return nil
	})
	if err != nil || read == 0 {
		t.Fatalf("%s: %v, %d files", location, err, read)
	}
}

// checkColumns compares the DDL's columns and types with what DuckDB reads
// in the files.
func checkColumns(t *testing.T, db *sql.DB, s *schema.Schema) {
	t.Helper()
	duckType := map[string]string{
		"string": "VARCHAR", "array<string>": "VARCHAR[]", "boolean": "BOOLEAN", "timestamp": "TIMESTAMP WITH TIME ZONE",
	}
	rows, err := db.Query(`SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'users' ORDER BY ordinal_position`)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for rows.Next() {
		var name, typ string
		if err := rows.Scan(&name, &typ); err != nil {
			t.Fatal(err)
		}
		got = append(got, name+" "+typ)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	column := regexp.MustCompile("(?m)^  `([a-z_]+)` ([a-z<>]+),?$")
	var want []string
	for _, m := range column.FindAllStringSubmatch(s.AthenaDDL("users", "s3://b/p/"), -1) {
		want = append(want, m[1]+" "+duckType[m[2]])
	}
	want = append(want, "dt VARCHAR") // the partition, last as Athena puts it
	if !slices.Equal(got, want) {
		t.Errorf("the files' columns\n %v\nthe DDL's\n %v", got, want)
	}
}

// manifestFiles lists, sorted, the data files of the given format that the
// manifests under out name.
func manifestFiles(t *testing.T, out, format string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(out, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.Name() != pipeline.ManifestName {
			return err
		}
		body, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, m := range regexp.MustCompile(`"path": "([^"]+)"`).FindAllStringSubmatch(string(body), -1) {
			if strings.HasSuffix(m[1], "."+format) {
				files = append(files, filepath.ToSlash(filepath.Join(filepath.Dir(p), m[1])))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(files)
	return files
}

func queryColumn(db *sql.DB, query string, dst *[]string, args ...any) error {
	rows, err := db.Query(query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return err
		}
		*dst = append(*dst, s)
	}
	return rows.Err()
}

// queryRow reads one row's columns as text.
func queryRow(db *sql.DB, query string, dst *[]string) error {
	rows, err := db.Query(query)
	if err != nil {
		return err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return err
	}
	if !rows.Next() {
		return fmt.Errorf("no row: %w", rows.Err())
	}
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if err := rows.Scan(ptrs...); err != nil {
		return err
	}
	for _, v := range vals {
		*dst = append(*dst, fmt.Sprint(v))
	}
	return rows.Err()
}
