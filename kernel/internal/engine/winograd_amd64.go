//go:build amd64 && !purego

package engine

// The blocks of 8 tiles of the fused transforms (winograd_fused.go) run
// in assembly on CPUs with AVX2 and FMA (Engine.winogradAsm).

// winogradInput4x8 is winogradInput4 for 8 tiles: for l, o := range off {
// column l of dst (36 rows of ldd floats) = Bᵀ d B for the 6×6 tile d at
// src[o:], rows stride apart }. It reads 8 floats from each tile row (2
// past the tile).
//
//go:noescape
func winogradInput4x8(dst *float32, ldd int, src *float32, stride int, off *[8]int)

// winogradOutput4x8 is winogradOutput4 for 8 tiles: for l, o := range off {
// the 4×4 block at dst[o:] (rows stride apart) = Aᵀ M A + bias for the 6×6
// M in column l of src (36 rows of lds floats), rectified if rectify }. It
// overwrites those columns of src.
//
//go:noescape
func winogradOutput4x8(dst *float32, stride int, off *[8]int, src *float32, lds int, bias float32, rectify bool)

// winogradGradOutput4x8 is winogradGradOutput4 for 8 tiles: for l, o :=
// range off { column l of dst (36 rows of ldd floats) = A e Aᵀ for the 4×4 e
// at src[o:], rows stride apart }.
//
//go:noescape
func winogradGradOutput4x8(dst *float32, ldd int, src *float32, stride int, off *[8]int)

// winogradInputAdjoint4x8 is winogradInputAdjoint4 for 8 tiles: for l, o :=
// range off, in order { the 6×6 block at dst[o:] (rows stride apart) += B V
// Bᵀ for the 6×6 V in column l of src (36 rows of lds floats) }. It adds to
// 8 floats of each block row (0 to the 2 past the block) and overwrites
// those columns of src.
//
//go:noescape
func winogradInputAdjoint4x8(dst *float32, stride int, off *[8]int, src *float32, lds int)

// winogradInput4x16 is winogradInput4x8 for 16 tiles in quads (tile 4q+l
// at off[4q] + 4l; winograd512_amd64.s), on CPUs with AVX-512F; scratch
// holds its half-way sums.
//
//go:noescape
func winogradInput4x16(dst *float32, ldd int, src *float32, stride int, off *[16]int, scratch *[576]float32)

// winogradOutput4x16 is winogradOutput4x8 for 16 tiles in quads, on CPUs
// with AVX-512F; scratch holds its half-way sums, and src is left as it was.
//
//go:noescape
func winogradOutput4x16(dst *float32, stride int, off *[16]int, src *float32, lds int, bias float32, rectify bool, scratch *[384]float32)

// winogradInputAdjoint4x16 is winogradInputAdjoint4x8 for 16 tiles in
// quads, on CPUs with AVX-512F; scratch holds its half-way sums, and src is
// left as it was. Each quad's overlapping tiles are summed in registers
// before they are added to dst, so its sums differ from the 8-tile
// routine's in the last bits.
//
//go:noescape
func winogradInputAdjoint4x16(dst *float32, stride int, off *[16]int, src *float32, lds int, scratch *[576]float32)
