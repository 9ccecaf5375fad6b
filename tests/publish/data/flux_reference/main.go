// Reference renderer for the Flux template golden files in ../flux_templates/.
//
// It reproduces image-automation-controller's commit-message rendering (internal/source
// templateMsg: text/template + sprig.HermeticTxtFuncMap, TemplateData{AutomationObject,
// Changed, Values}) with the same Go types (update.Result, ObjectIdentifier embedding kyaml's
// ResourceIdentifier{TypeMeta{APIVersion, Kind}, NameMeta{Name, Namespace}}).
// Not run by the test suite; regenerate the *.expected files with:
//
//	GOPATH=... GO111MODULE=off go run main.go SCENARIO.json TEMPLATE.tmpl > TEMPLATE.<scenario>.expected
//
// One deliberate difference: Flux's Result.Changes() ranges over Go maps, so with more than one
// distinct change its order is random; here (and in imagebot) it is file order, then line order.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"text/template"

	"github.com/Masterminds/sprig/v3"
)

type NamespacedName struct{ Namespace, Name string }

func (n NamespacedName) String() string { return n.Namespace + "/" + n.Name }

type TypeMeta struct{ APIVersion, Kind string }
type NameMeta struct{ Name, Namespace string }
type ResourceIdentifier struct {
	TypeMeta
	NameMeta
}
type ObjectIdentifier struct{ ResourceIdentifier }

type Change struct{ OldValue, NewValue, Setter string }
type ObjectChanges map[ObjectIdentifier][]Change

type Result struct {
	FileChanges map[string]ObjectChanges
	order       []Change
}

func (r Result) Changes() []Change {
	seen := map[Change]bool{}
	var out []Change
	for _, c := range r.order {
		if !seen[c] {
			seen[c] = true
			out = append(out, c)
		}
	}
	return out
}

func (r Result) Objects() ObjectChanges {
	result := make(ObjectChanges)
	for _, objChanges := range r.FileChanges {
		for obj, change := range objChanges {
			result[obj] = change
		}
	}
	return result
}

type TemplateData struct {
	AutomationObject NamespacedName
	Changed          Result
	Values           map[string]string
}

type scenario struct {
	Automation struct{ Namespace, Name string }
	Values     map[string]string
	Changes    []struct {
		File, APIVersion, Kind, Name, Namespace, Old, New, Setter string
	}
}

func main() {
	raw, _ := os.ReadFile(os.Args[1])
	var s scenario
	if err := json.Unmarshal(raw, &s); err != nil {
		panic(err)
	}
	tmpl, _ := os.ReadFile(os.Args[2])
	data := TemplateData{
		AutomationObject: NamespacedName{s.Automation.Namespace, s.Automation.Name},
		Changed:          Result{FileChanges: map[string]ObjectChanges{}},
		Values:           s.Values,
	}
	for _, c := range s.Changes {
		id := ObjectIdentifier{ResourceIdentifier{TypeMeta{c.APIVersion, c.Kind}, NameMeta{c.Name, c.Namespace}}}
		if data.Changed.FileChanges[c.File] == nil {
			data.Changed.FileChanges[c.File] = ObjectChanges{}
		}
		ch := Change{c.Old, c.New, c.Setter}
		data.Changed.FileChanges[c.File][id] = append(data.Changed.FileChanges[c.File][id], ch)
		data.Changed.order = append(data.Changed.order, ch)
	}
	t, err := template.New("commit message").Funcs(sprig.HermeticTxtFuncMap()).Parse(string(tmpl))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	b := &strings.Builder{}
	if err := t.Execute(b, data); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(3)
	}
	os.Stdout.WriteString(b.String())
}
