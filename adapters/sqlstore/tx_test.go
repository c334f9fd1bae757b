package sqlstore_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/posthaste/posthaste/adapters/sqlstore"
	pt "github.com/posthaste/posthaste/adapters/sqlstore/projectiontest"
	"github.com/posthaste/posthaste/projections"
)

// scratchDDL is a table for the Tx helpers, per backend.
var scratchDDL = map[string]string{
	"sqlite":  `CREATE TABLE tx_scratch (k TEXT NOT NULL, n INTEGER NOT NULL, r TEXT NOT NULL, a INTEGER NOT NULL, kept TEXT NOT NULL, PRIMARY KEY (k, n))`,
	"mariadb": `CREATE TABLE tx_scratch (k VARCHAR(20) NOT NULL, n BIGINT NOT NULL, r TEXT NOT NULL, a BIGINT NOT NULL, kept TEXT NOT NULL, PRIMARY KEY (k, n))`,
}

// The Tx port on both databases: InsertIgnore keeps stored rows, Upsert merges each column as
// its rule says, in chunks (more rows than one statement takes), and refuses a column without
// a rule or a column list without a key.
func TestProjectionTxHelpers(t *testing.T) {
	for _, name := range pt.Backends {
		t.Run(name, func(t *testing.T) {
			db := pt.OpenDatabase(t, name)
			ctx := pt.Ctx(t)
			if _, err := db.DB.ExecContext(ctx, scratchDDL[name]); err != nil {
				t.Fatal(err)
			}
			cols := []projections.Column{{Name: "k", On: projections.Key}, {Name: "n", On: projections.Key},
				{Name: "r", On: projections.Replace}, {Name: "a", On: projections.Add}, {Name: "kept", On: projections.Keep}}
			inTx := func(f func(tx projections.Tx) error) {
				t.Helper()
				tx, err := db.DB.BeginTx(ctx, nil)
				if err != nil {
					t.Fatal(err)
				}
				defer tx.Rollback()
				if err := f(sqlstore.NewProjectionTx(tx, db.Dialect)); err != nil {
					t.Fatal(err)
				}
				if err := tx.Commit(); err != nil {
					t.Fatal(err)
				}
			}
			// 1,500 rows of 5 columns: two statements of at most 4,000 placeholders.
			var rows [][]any
			for i := range 1500 {
				rows = append(rows, []any{"x", i, "first", 1, "first"})
			}
			inTx(func(tx projections.Tx) error { return tx.Upsert(ctx, "tx_scratch", cols, rows) })
			inTx(func(tx projections.Tx) error {
				if err := tx.Upsert(ctx, "tx_scratch", cols, [][]any{{"x", 7, "second", 2, "second"}, {"y", 1, "new", 5, "new"}}); err != nil {
					return err
				}
				return tx.InsertIgnore(ctx, "tx_scratch", []string{"k", "n", "r", "a", "kept"}, [][]any{{"x", 8, "ignored", 9, "ignored"}, {"z", 1, "z", 1, "z"}})
			})
			// Every column kept: the stored row stays as it is.
			keep := []projections.Column{{Name: "k", On: projections.Key}, {Name: "n", On: projections.Key}, {Name: "r", On: projections.Keep},
				{Name: "a", On: projections.Keep}, {Name: "kept", On: projections.Keep}}
			inTx(func(tx projections.Tx) error {
				return tx.Upsert(ctx, "tx_scratch", keep, [][]any{{"y", 1, "no", 100, "no"}})
			})
			want := map[[2]any]string{{"x", 7}: "second 3 first", {"x", 8}: "first 1 first", {"y", 1}: "new 5 new", {"z", 1}: "z 1 z", {"x", 1499}: "first 1 first"}
			for key, w := range want {
				var r, kept string
				var a int64
				if err := db.DB.QueryRowContext(ctx, `SELECT r, a, kept FROM tx_scratch WHERE k = ? AND n = ?`, key[0], key[1]).Scan(&r, &a, &kept); err != nil {
					t.Fatalf("%v: %v", key, err)
				}
				if got := strings.Join([]string{r, strconv.FormatInt(a, 10), kept}, " "); got != w {
					t.Errorf("row %v = %q, want %q", key, got, w)
				}
			}
			var n int64
			if err := db.DB.QueryRowContext(ctx, `SELECT COUNT(*) FROM tx_scratch`).Scan(&n); err != nil || n != 1502 {
				t.Errorf("rows = %d, %v; want 1502", n, err)
			}
			inTx(func(tx projections.Tx) error {
				if err := tx.Upsert(ctx, "tx_scratch", []projections.Column{{Name: "k", On: projections.Key}, {Name: "r"}}, [][]any{{"q", "q"}}); err == nil {
					t.Error("a column without a rule was accepted")
				}
				if err := tx.Upsert(ctx, "tx_scratch", []projections.Column{{Name: "r", On: projections.Replace}}, [][]any{{"q"}}); err == nil {
					t.Error("a column list without a key was accepted")
				}
				if err := tx.Upsert(ctx, "tx_scratch", cols, nil); err != nil {
					t.Errorf("no rows: %v", err)
				}
				return nil
			})
		})
	}
}
