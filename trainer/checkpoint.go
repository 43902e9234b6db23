package trainer

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/allcnn/allcnn/optim"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/allcnn/allcnn/format"
	"github.com/allcnn/allcnn/internal/atomicfile"
	"github.com/allcnn/allcnn/kernel"
)

// checkpointVersion is the layout of checkpoint.msgpack.
const checkpointVersion = 1

// checkpoint is everything needed to continue a run exactly: the settings,
// the weights (a weight file, with the fitted preprocessing), the momentum
// buffers, the state of every random stream, and the metrics so far.
type checkpoint struct {
	Version  int               `msgpack:"version"`
	Config   Config            `msgpack:"config"`
	Model    []byte            `msgpack:"model"`    // a weight file (format), always float32
	Velocity [][]byte          `msgpack:"velocity"` // little-endian float32, one per parameter
	Shuffle  []byte            `msgpack:"shuffle"`  // rand.PCG states
	Augment  []byte            `msgpack:"augment"`
	Dropout  map[string][]byte `msgpack:"dropout"` // by layer index
	History  []EpochMetrics    `msgpack:"history"`
	// With Config.EMA: the average of the weights, as Velocity, in
	// kernel.Net.Tensors' order, and the updates it has had.
	Average      [][]byte `msgpack:"average,omitempty"`
	AverageSteps int      `msgpack:"average_steps,omitempty"`
}

// ErrCheckpoint is wrapped by errors about an unreadable checkpoint.
var ErrCheckpoint = errors.New("trainer: bad checkpoint")

// save writes the checkpoint, metrics.jsonl and curves.png, each
// atomically: a process killed at any moment leaves the previous complete
// version or the new one. Any failure is an error naming the file.
func (r *Run) save() error {
	path := filepath.Join(r.Dir, CheckpointFile)
	model, err := format.Marshal(format.FromNet(r.Net, r.Classes, r.Prep, format.F32, nil))
	if err != nil {
		return fmt.Errorf("trainer: checkpoint %s: %w", path, err)
	}
	c := checkpoint{Version: checkpointVersion, Config: r.Cfg, Model: model, History: r.History, Dropout: map[string][]byte{}}
	for _, v := range r.opt.Velocity {
		c.Velocity = append(c.Velocity, f32bytes(v))
	}
	if r.avg != nil {
		c.Average, c.AverageSteps = r.avg.saved(), r.avg.steps
	}
	if c.Shuffle, err = r.shuffle.MarshalBinary(); err != nil {
		return fmt.Errorf("trainer: checkpoint %s: shuffling state: %w", path, err)
	}
	if c.Augment, err = r.augment.MarshalBinary(); err != nil {
		return fmt.Errorf("trainer: checkpoint %s: augmentation state: %w", path, err)
	}
	for i, l := range r.Net.Layers {
		if d, ok := l.(*kernel.Dropout); ok {
			if c.Dropout[fmt.Sprint(i)], err = d.RNG.MarshalBinary(); err != nil {
				return fmt.Errorf("trainer: checkpoint %s: dropout state of layer %d: %w", path, i, err)
			}
		}
	}
	b, err := msgpack.Marshal(&c)
	if err != nil {
		return fmt.Errorf("trainer: checkpoint %s: %w", path, err)
	}
	if err := atomicfile.WriteBytes(path, b); err != nil {
		return fmt.Errorf("trainer: checkpoint: %w", err)
	}
	path = filepath.Join(r.Dir, MetricsFile)
	var lines bytes.Buffer
	enc := json.NewEncoder(&lines)
	for _, m := range r.History {
		if err := enc.Encode(m); err != nil {
			return fmt.Errorf("trainer: metrics %s: epoch %d: %w", path, m.Epoch, err)
		}
	}
	if err := atomicfile.WriteBytes(path, lines.Bytes()); err != nil {
		return fmt.Errorf("trainer: metrics: %w", err)
	}
	path = filepath.Join(r.Dir, CurvesFile)
	if err := WriteCurves(path, r.History); err != nil {
		return fmt.Errorf("trainer: curves: %w", err)
	}
	return nil
}

// Resume continues the run in dir from its checkpoint, its nets computing
// as o says (Config.Kernel). epochs > 0 changes the number of epochs in all
// (to extend a finished run).
func Resume(dir string, epochs int, o kernel.Options, log io.Writer) (*Run, error) {
	if log == nil {
		log = io.Discard
	}
	c, f, err := readCheckpoint(dir)
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, CheckpointFile)
	// A process killed while writing leaves its temporary file behind.
	stale, _ := filepath.Glob(filepath.Join(dir, ".*.tmp*"))
	for _, name := range stale {
		os.Remove(name)
	}
	if epochs > 0 {
		c.Config.Epochs = epochs
	}
	if err := c.Config.check(); err != nil {
		return nil, err
	}
	c.Config.Kernel = o
	net, err := f.NetWith(o)
	if err != nil {
		return nil, err
	}
	r := &Run{Cfg: c.Config, Dir: dir, Net: net, Classes: f.Classes, History: c.History, log: log}
	r.opt = optim.SGD{Momentum: float32(c.Config.Momentum), WeightDecay: float32(c.Config.WeightDecay), Nesterov: c.Config.Nesterov}
	params := net.Params()
	if len(c.Velocity) != len(params) {
		return nil, fmt.Errorf("%w: %s: %d momentum buffers for %d parameters", ErrCheckpoint, path, len(c.Velocity), len(params))
	}
	for i, p := range params {
		v, ok := bytesF32(c.Velocity[i])
		if !ok || len(v) != len(p.Data) {
			return nil, fmt.Errorf("%w: %s: momentum buffer of %s has %d bytes", ErrCheckpoint, path, p.Name, len(c.Velocity[i]))
		}
		if bad, x := firstNonFinite([]*kernel.Param{{Name: p.Name, Data: v}}); bad != "" {
			return nil, fmt.Errorf("%w: %s: momentum buffer of %s holds %v", ErrCheckpoint, path, bad, x)
		}
		r.opt.Velocity = append(r.opt.Velocity, v)
	}
	if r.avg, err = c.average(net); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrCheckpoint, path, err)
	}
	r.shuffle, r.augment = &rand.PCG{}, &rand.PCG{}
	if r.shuffle.UnmarshalBinary(c.Shuffle) != nil || r.augment.UnmarshalBinary(c.Augment) != nil {
		return nil, fmt.Errorf("%w: %s: random state", ErrCheckpoint, path)
	}
	for i, l := range net.Layers {
		if d, ok := l.(*kernel.Dropout); ok {
			if d.RNG.UnmarshalBinary(c.Dropout[fmt.Sprint(i)]) != nil {
				return nil, fmt.Errorf("%w: %s: dropout state of layer %d", ErrCheckpoint, path, i)
			}
		}
	}
	if err := r.loadData(&f.Preprocess); err != nil {
		return nil, err
	}
	fmt.Fprintf(log, "resumed %s after epoch %d of %d\n", dir, r.Epoch(), r.Cfg.Epochs)
	return r, nil
}

// readCheckpoint reads and checks the checkpoint of the run in dir.
func readCheckpoint(dir string) (*checkpoint, *format.File, error) {
	path := filepath.Join(dir, CheckpointFile)
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("trainer: %w", err)
	}
	var c checkpoint
	if err := msgpack.Unmarshal(b, &c); err != nil {
		return nil, nil, fmt.Errorf("%w: %s: %v", ErrCheckpoint, path, err)
	}
	if c.Version != checkpointVersion {
		return nil, nil, fmt.Errorf("%w: %s: version %d, want %d", ErrCheckpoint, path, c.Version, checkpointVersion)
	}
	f, err := format.Unmarshal(c.Model) // refuses a NaN or infinite weight, naming its tensor
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %s: %w", ErrCheckpoint, path, err)
	}
	return &c, f, nil
}

// Export writes the weights of the last checkpoint of the run in dir as a
// weight file at path, with the run's recipe and metrics as metadata: the
// model of an unfinished run. dtype "" keeps the run's.
func Export(dir, path, dtype string) (epoch int, err error) {
	c, f, err := readCheckpoint(dir)
	if err != nil {
		return 0, err
	}
	net, err := f.Net()
	if err != nil {
		return 0, err
	}
	r := &Run{Cfg: c.Config, Dir: dir, Net: net, Classes: f.Classes, Prep: f.Preprocess, History: c.History}
	if r.avg, err = c.average(net); err != nil {
		return 0, fmt.Errorf("%w: %s: %w", ErrCheckpoint, filepath.Join(dir, CheckpointFile), err)
	}
	if dtype != "" {
		r.Cfg.DType = dtype
	}
	return r.Epoch(), r.WriteModel(path)
}

// average is the checkpoint's average of net's weights: nil when the run
// keeps none.
func (c *checkpoint) average(net *kernel.Net) (*average, error) {
	if c.Config.EMA == 0 {
		if len(c.Average) > 0 {
			return nil, errors.New("an average of the weights, in a run without one")
		}
		return nil, nil
	}
	return restoreAverage(c.Config.EMA, c.AverageSteps, c.Average, net.Tensors())
}

func f32bytes(v []float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

func bytesF32(b []byte) ([]float32, bool) {
	if len(b)%4 != 0 {
		return nil, false
	}
	v := make([]float32, len(b)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return v, true
}
