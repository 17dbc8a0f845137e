package samtemplate

import (
	"os"
	"reflect"
	"testing"
)

// FuzzParse: any text, read as a SAM template (YAML and JSON).
// Properties: no panic (goformation and the YAML reader meet hostile input here: a
// template is data an operator may get from anywhere); a template that is accepted
// passed validate, and reading it twice gives the same template (deterministic), so the
// local gateway and the checks never depend on map order.
func FuzzParse(f *testing.F) {
	if real, err := os.ReadFile("../../template.yaml"); err == nil {
		f.Add(real, false)
	}
	f.Add([]byte("Transform: AWS::Serverless-2016-10-31\nResources: {}\n"), false)
	f.Add([]byte(`{"Resources":{"F":{"Type":"AWS::Serverless::Function","Properties":{"Events":{"A":{"Type":"Api","Properties":{"Path":"/x","Method":"get"}}}}}}}`), true)
	f.Add([]byte("Resources:\n  T:\n    Type: AWS::DynamoDB::Table\n    Properties: {KeySchema: [{AttributeName: pk, KeyType: HASH}]}\n"), false)
	f.Add([]byte("a: &a [*a]\n"), false)
	f.Fuzz(func(t *testing.T, data []byte, isJSON bool) {
		a, err := Parse("fuzz", data, isJSON)
		if err != nil {
			return
		}
		b, err := Parse("fuzz", data, isJSON)
		if err != nil {
			t.Fatalf("accepted once, refused the next time: %v", err)
		}
		if !reflect.DeepEqual(a, b) {
			t.Fatal("the same text read twice gives two templates")
		}
	})
}
