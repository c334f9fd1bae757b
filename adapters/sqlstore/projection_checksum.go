package sqlstore

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"strconv"
	"strings"
	"time"

	"github.com/posthaste/posthaste/projections"
)

// TableChecksum is the SHA-256 of one table's rows.
type TableChecksum struct {
	Table  string `json:"table"`
	Rows   int64  `json:"rows"`
	SHA256 string `json:"sha256"`
}

// ProjectionChecksum is the checksum of every table of a projection (its checkpoints excluded).
type ProjectionChecksum struct {
	Projection string          `json:"projection"`
	Tables     []TableChecksum `json:"tables"`
	SHA256     string          `json:"sha256"` // over the table names and their checksums, in order
}

// Checksum hashes every table of proj (see ChecksumTable). A live model and one rebuilt from the
// same events have the same checksum.
func Checksum(ctx context.Context, db *sql.DB, d Dialect, proj projections.Projection) (ProjectionChecksum, error) {
	if proj == nil {
		return ProjectionChecksum{}, errors.New("projections: checksum: nil projection")
	}
	out := ProjectionChecksum{Projection: proj.Name()}
	all := sha256.New()
	for _, t := range proj.Tables() {
		if isBookkeeping(t) {
			continue
		}
		tc, err := ChecksumTable(ctx, db, d, t)
		if err != nil {
			return ProjectionChecksum{}, fmt.Errorf("projections: checksum %s: %w", proj.Name(), err)
		}
		out.Tables = append(out.Tables, tc)
		writeField(all, []byte(tc.Table))
		writeField(all, []byte(tc.SHA256))
	}
	out.SHA256 = hex.EncodeToString(all.Sum(nil))
	return out, nil
}

// column kinds that are rendered canonically.
const (
	kindText = iota
	kindInt
	kindFloat
	kindTime
)

type column struct {
	name string
	kind int
	text bool // a character type (ordered by its bytes on every database)
	pk   int  // 1-based position in the primary key, 0 when not part of it
}

// ChecksumTable returns the SHA-256 over every column of every row of a table, in canonical order
// (by the primary key columns, or by every column when there is none; text by its bytes), with
// values rendered canonically: NULL distinct from the empty string, integers in decimal, floats
// in the shortest form that reads back, times in UTC RFC 3339 with nanoseconds, anything else as
// its bytes. The column names are hashed first. The algorithm is the same on MariaDB and SQLite:
// equal rows give equal checksums on either.
func ChecksumTable(ctx context.Context, db *sql.DB, d Dialect, table string) (TableChecksum, error) {
	if db == nil || d == nil {
		return TableChecksum{}, errors.New("nil database or dialect")
	}
	if !validIdent(table) {
		return TableChecksum{}, fmt.Errorf("table name %q is not a plain identifier", table)
	}
	cols, err := tableColumns(ctx, db, d, table)
	if err != nil {
		return TableChecksum{}, err
	}
	var order []column
	for _, c := range cols {
		if c.pk > 0 {
			order = append(order, c)
		}
	}
	if len(order) == 0 {
		order = cols
	} else {
		sortByPK(order)
	}
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = c.name
	}
	keys := make([]string, len(order))
	for i, c := range order {
		keys[i] = c.name
		if c.text {
			keys[i] = d.byteOrder(c.name)
		}
	}
	q := "SELECT " + strings.Join(names, ", ") + " FROM " + table + " ORDER BY " + strings.Join(keys, ", ")
	rows, err := db.QueryContext(ctx, q)
	if err != nil {
		return TableChecksum{}, fmt.Errorf("read %s: %w", table, err)
	}
	defer rows.Close()
	h := sha256.New()
	for _, n := range names {
		writeField(h, []byte(n))
	}
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	var n int64
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return TableChecksum{}, fmt.Errorf("read %s: %w", table, err)
		}
		h.Write([]byte{'R'})
		for i, v := range vals {
			if v == nil {
				h.Write([]byte{'N'})
				continue
			}
			h.Write([]byte{'V'})
			writeField(h, canonical(v, cols[i].kind))
		}
		n++
	}
	if err := rows.Err(); err != nil {
		return TableChecksum{}, fmt.Errorf("read %s: %w", table, err)
	}
	return TableChecksum{Table: table, Rows: n, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}

func writeField(h hash.Hash, b []byte) {
	var l [8]byte
	binary.BigEndian.PutUint64(l[:], uint64(len(b)))
	h.Write(l[:])
	h.Write(b)
}

func sortByPK(cs []column) {
	for i := 1; i < len(cs); i++ {
		for j := i; j > 0 && cs[j].pk < cs[j-1].pk; j-- {
			cs[j], cs[j-1] = cs[j-1], cs[j]
		}
	}
}

func tableColumns(ctx context.Context, db *sql.DB, d Dialect, table string) ([]column, error) {
	rows, err := db.QueryContext(ctx, d.columnsQuery(), table)
	if err != nil {
		return nil, fmt.Errorf("read columns of %s: %w", table, err)
	}
	defer rows.Close()
	var cols []column
	for rows.Next() {
		var c column
		var typ string
		if err := rows.Scan(&c.name, &typ, &c.pk); err != nil {
			return nil, fmt.Errorf("read columns of %s: %w", table, err)
		}
		c.kind, c.text = kindOf(typ)
		cols = append(cols, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read columns of %s: %w", table, err)
	}
	if len(cols) == 0 {
		return nil, fmt.Errorf("table %s not found", table)
	}
	return cols, nil
}

// kindOf maps a declared column type to how its values are rendered.
func kindOf(typ string) (kind int, text bool) {
	t := strings.ToUpper(typ)
	switch {
	case strings.Contains(t, "CHAR") || strings.Contains(t, "TEXT") || strings.Contains(t, "ENUM") || strings.Contains(t, "CLOB"):
		return kindText, true
	case strings.Contains(t, "INT") || strings.HasPrefix(t, "BOOL") || t == "BIT":
		return kindInt, false
	case strings.Contains(t, "DOUBLE") || strings.Contains(t, "FLOAT") || strings.Contains(t, "REAL"):
		return kindFloat, false
	case strings.Contains(t, "DATE") || strings.Contains(t, "TIME"):
		return kindTime, false
	}
	return kindText, false
}

var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02",
}

// canonical renders a scanned value of a column of the given kind.
func canonical(v any, kind int) []byte {
	switch x := v.(type) {
	case time.Time:
		return []byte(x.UTC().Format(time.RFC3339Nano))
	case int64:
		if kind == kindFloat {
			return []byte(strconv.FormatFloat(float64(x), 'g', -1, 64))
		}
		return []byte(strconv.FormatInt(x, 10))
	case float64:
		if kind == kindInt && x == float64(int64(x)) {
			return []byte(strconv.FormatInt(int64(x), 10))
		}
		return []byte(strconv.FormatFloat(x, 'g', -1, 64))
	case bool:
		if x {
			return []byte("1")
		}
		return []byte("0")
	case string:
		return canonicalBytes([]byte(x), kind)
	case []byte:
		return canonicalBytes(x, kind)
	}
	return fmt.Appendf(nil, "%v", v)
}

func canonicalBytes(b []byte, kind int) []byte {
	switch kind {
	case kindTime:
		for _, l := range timeLayouts {
			if t, err := time.Parse(l, string(b)); err == nil {
				return []byte(t.UTC().Format(time.RFC3339Nano))
			}
		}
	case kindFloat:
		if f, err := strconv.ParseFloat(string(b), 64); err == nil {
			return []byte(strconv.FormatFloat(f, 'g', -1, 64))
		}
	}
	return b
}
