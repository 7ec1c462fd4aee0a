// Command kstatus prints what sigs.k8s.io/cli-utils' kstatus library (the
// status.Compute that Flux, kpt and Argo-style tools wait on) says about
// Kubernetes objects. It exists so the e2e tests can assert the verdict of
// the real library, not of a re-implementation of its rules.
//
// Input on stdin: JSON objects, one after another (e.g. one per line), a JSON
// array of objects, or a List (an object with "items"), in any mix.
// Output on stdout: one JSON line per object, in input order:
//
//	{"kind":"ConfigPush","namespace":"ns","name":"push","status":"InProgress","message":"..."}
//
// Bad input exits 1 with the reason on stderr.
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
)

type verdict struct {
	Kind      string `json:"kind"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
	Status    string `json:"status"`
	Message   string `json:"message"`
}

func main() {
	if len(os.Args) > 1 {
		fmt.Fprintln(os.Stderr, "usage: kstatus < objects.json (JSON objects, arrays or Lists on stdin; no arguments)")
		os.Exit(2)
	}
	out := bufio.NewWriter(os.Stdout)
	if err := run(os.Stdin, out); err != nil {
		out.Flush()
		fmt.Fprintln(os.Stderr, "kstatus:", err)
		os.Exit(1)
	}
	if err := out.Flush(); err != nil {
		fmt.Fprintln(os.Stderr, "kstatus:", err)
		os.Exit(1)
	}
}

func run(in io.Reader, out io.Writer) error {
	decoder := json.NewDecoder(in)
	encoder := json.NewEncoder(out)
	for index := 0; ; index++ {
		var raw json.RawMessage
		if err := decoder.Decode(&raw); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return fmt.Errorf("input value %d: %w", index, err)
		}
		objects, err := objectsOf(raw)
		if err != nil {
			return fmt.Errorf("input value %d: %w", index, err)
		}
		for _, object := range objects {
			v, err := compute(object)
			if err != nil {
				return fmt.Errorf("input value %d: %w", index, err)
			}
			if err := encoder.Encode(v); err != nil {
				return err
			}
		}
	}
}

// objectsOf flattens one input value into objects. utiljson keeps integers as
// int64, which status.Compute needs to read metadata.generation and
// status.observedGeneration (encoding/json would make them float64).
func objectsOf(raw json.RawMessage) ([]map[string]interface{}, error) {
	var value interface{}
	if err := utiljson.Unmarshal(raw, &value); err != nil {
		return nil, err
	}
	switch v := value.(type) {
	case []interface{}:
		return asObjects(v)
	case map[string]interface{}:
		if items, ok := v["items"]; ok {
			list, ok := items.([]interface{})
			if !ok {
				return nil, errors.New(`"items" is not an array`)
			}
			return asObjects(list)
		}
		return []map[string]interface{}{v}, nil
	default:
		return nil, fmt.Errorf("expected a JSON object, array or List, got %T", value)
	}
}

func asObjects(items []interface{}) ([]map[string]interface{}, error) {
	objects := make([]map[string]interface{}, 0, len(items))
	for i, item := range items {
		object, ok := item.(map[string]interface{})
		if !ok {
			return nil, fmt.Errorf("item %d is not a JSON object", i)
		}
		objects = append(objects, object)
	}
	return objects, nil
}

func compute(object map[string]interface{}) (verdict, error) {
	u := &unstructured.Unstructured{Object: object}
	if u.GetKind() == "" || u.GetName() == "" {
		return verdict{}, errors.New("an object without kind or metadata.name")
	}
	result, err := status.Compute(u)
	if err != nil {
		return verdict{}, fmt.Errorf("%s %s/%s: %w", u.GetKind(), u.GetNamespace(), u.GetName(), err)
	}
	return verdict{
		Kind:      u.GetKind(),
		Namespace: u.GetNamespace(),
		Name:      u.GetName(),
		Status:    result.Status.String(),
		Message:   result.Message,
	}, nil
}
