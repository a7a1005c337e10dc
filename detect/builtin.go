package detect

import (
	"bytes"
	_ "embed"
	"sync"

	"github.com/wardenhq/warden/model"
)

// builtinModel is the shipped bot-likeness model, trained with
// `warden model train` on the shared datasets (docs/detection.md has the
// command). It is derived numbers (tree thresholds), not dataset content.
//
//go:embed botmodel.json
var builtinModel []byte

var (
	defOnce  sync.Once
	defModel *model.Model
	defErr   error
)

// DefaultModel returns the built-in model, parsed once.
func DefaultModel() (*model.Model, error) {
	defOnce.Do(func() { defModel, defErr = model.Read(bytes.NewReader(builtinModel)) })
	return defModel, defErr
}
