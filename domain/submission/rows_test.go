package submission_test

import (
	"testing"

	"github.com/posthaste/posthaste/domain/submission"
)

func TestGroupRowsKeepsOrderAndChecksTheContract(t *testing.T) {
	a := submission.Row{Table: "api_message_ids", Columns: []string{"id", "message_id"}, Values: []any{int64(1), "m1"}}
	b := submission.Row{Table: "api_message_ids", Columns: []string{"id", "message_id"}, Values: []any{int64(2), "m2"}}
	c := submission.Row{Table: "other", Columns: []string{"k"}, Values: []any{"v"}}
	got, err := submission.GroupRows([]submission.Row{a, b, c, a})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || len(got[0].Values) != 2 || got[1].Table != "other" || got[2].Values[0][1] != "m1" {
		t.Fatalf("groups %+v", got)
	}
	for _, bad := range []submission.Row{
		{Table: "t; DROP TABLE x", Columns: []string{"a"}, Values: []any{1}},
		{Table: "t", Columns: []string{"A"}, Values: []any{1}},
		{Table: "t", Columns: nil, Values: nil},
		{Table: "t", Columns: []string{"a", "b"}, Values: []any{1}},
	} {
		if _, err := submission.GroupRows([]submission.Row{bad}); err == nil {
			t.Errorf("row %+v accepted", bad)
		}
	}
}
