package projections_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/posthaste/posthaste/adapters/sqlstore/sqlstoretest"
	"github.com/posthaste/posthaste/projections"
	"github.com/posthaste/posthaste/projections/eventcount"
)

// probeDDL is a table with every kind of column the checksum renders, per dialect.
var probeDDL = map[string]string{
	projections.DialectSQLite: `CREATE TABLE cs_probe (k TEXT NOT NULL, n INTEGER NOT NULL, v TEXT NULL,
		at DATETIME NULL, x REAL NULL, PRIMARY KEY (k, n))`,
	projections.DialectMySQL: `CREATE TABLE cs_probe (k VARCHAR(20) NOT NULL, n BIGINT NOT NULL, v TEXT NULL,
		at DATETIME(6) NULL, x DOUBLE NULL, PRIMARY KEY (k, n)) DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci`,
}

type probeRow struct {
	k  string
	n  int64
	v  any
	at any
	x  any
}

func fill(t *testing.T, db projections.DB, rows []probeRow) {
	t.Helper()
	ctx := testCtx(t)
	if _, err := db.SQL.ExecContext(ctx, probeDDL[db.Dialect]); err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if _, err := db.SQL.ExecContext(ctx, `INSERT INTO cs_probe (k, n, v, at, x) VALUES (?, ?, ?, ?, ?)`, r.k, r.n, r.v, r.at, r.x); err != nil {
			t.Fatal(err)
		}
		if _, err := db.SQL.ExecContext(ctx, `INSERT INTO event_counts (event_type, server_id, count) VALUES (?, ?, ?)`, r.k, fmt.Sprint(r.n), r.n); err != nil {
			t.Fatal(err)
		}
	}
}

func tableSum(t *testing.T, db projections.DB, table string) projections.TableChecksum {
	t.Helper()
	cs, err := projections.ChecksumTable(testCtx(t), db, table)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

func sqliteDB(t *testing.T) projections.DB {
	return projections.DB{SQL: sqlstoretest.SQLiteDB(t), Dialect: projections.DialectSQLite}
}

func mariaDB(t *testing.T) projections.DB {
	return projections.DB{SQL: sqlstoretest.MariaDBDB(t), Dialect: projections.DialectMySQL}
}

var at = time.Date(2026, 11, 24, 10, 30, 0, 123456000, time.UTC)

func baseRows() []probeRow {
	return []probeRow{
		{"b", 2, "x", at, 1.5},
		{"B", 1, "", nil, nil},
		{"a", 10, nil, at.Add(time.Hour), 1e20},
		{"a", 9, "é", at, -0.25},
	}
}

func TestChecksumIsCanonicalAcrossBackends(t *testing.T) {
	rows := baseRows()
	reversed := make([]probeRow, len(rows))
	for i, r := range rows {
		reversed[len(rows)-1-i] = r
	}
	s1, s2, m1 := sqliteDB(t), sqliteDB(t), mariaDB(t)
	fill(t, s1, rows)
	fill(t, s2, reversed) // insertion order does not matter
	fill(t, m1, reversed)
	for _, table := range []string{"cs_probe", "event_counts"} {
		a, b, c := tableSum(t, s1, table), tableSum(t, s2, table), tableSum(t, m1, table)
		if a != b || a != c {
			t.Errorf("%s: sqlite %+v, sqlite reordered %+v, mariadb %+v: want all equal", table, a, b, c)
		}
		if a.Rows != int64(len(rows)) {
			t.Errorf("%s: %d rows hashed, want %d", table, a.Rows, len(rows))
		}
	}
	ps, err := projections.Checksum(testCtx(t), s1, eventcount.New())
	if err != nil {
		t.Fatal(err)
	}
	pm, err := projections.Checksum(testCtx(t), m1, eventcount.New())
	if err != nil {
		t.Fatal(err)
	}
	if ps.SHA256 != pm.SHA256 || len(ps.Tables) != 1 {
		t.Errorf("projection checksums differ: %+v vs %+v", ps, pm)
	}
}

func TestChecksumSeesEveryDifference(t *testing.T) {
	changes := map[string]func(rs []probeRow){
		"NULL becomes empty": func(rs []probeRow) { rs[2].v = "" },
		"empty becomes NULL": func(rs []probeRow) { rs[1].v = nil },
		"a time moves 1µs":   func(rs []probeRow) { rs[0].at = at.Add(time.Microsecond) },
		"a float changes":    func(rs []probeRow) { rs[3].x = -0.5 },
		"a key changes":      func(rs []probeRow) { rs[0].k = "c" },
		"a row is missing":   func(rs []probeRow) { rs[3] = probeRow{"zz", 1, nil, nil, nil} },
	}
	for name, db := range map[string]func(*testing.T) projections.DB{"sqlite": sqliteDB, "mariadb": mariaDB} {
		t.Run(name, func(t *testing.T) {
			ref := db(t)
			fill(t, ref, baseRows())
			want := tableSum(t, ref, "cs_probe")
			other := db(t)
			for what, change := range changes {
				rows := baseRows()
				change(rows)
				for _, q := range []string{`DROP TABLE IF EXISTS cs_probe`, `DELETE FROM event_counts`} {
					if _, err := other.SQL.ExecContext(testCtx(t), q); err != nil {
						t.Fatal(err)
					}
				}
				fill(t, other, rows)
				if got := tableSum(t, other, "cs_probe"); got.SHA256 == want.SHA256 {
					t.Errorf("%s: checksum unchanged", what)
				}
			}
		})
	}
}
