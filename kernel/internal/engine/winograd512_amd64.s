//go:build amd64 && !purego

#include "textflag.h"
#include "winograd_ops.h"

// The fused transforms of F(4×4, 3×3) for blocks of 16 tiles, one tile per
// lane of a Z register (AVX-512F), where the tiles come in quads: four
// tiles side by side, 4 floats apart (tile l of quad q at off[q] + 4l).
// In the input and output transforms each lane runs the same instructions
// as a lane of the 8-tile routines (winograd_amd64.s), so a tile's results
// do not depend on the routine; the input adjoint sums overlapping tiles
// in another order (the same for a map alone or in a batch where a map has
// a multiple of 16 tiles, as All-CNN-C's 16×16 and 32×32 maps have).
// Where the 8-tile routines transpose each tile row across the lanes
// (8 loads and 22 shuffles for 8 tiles), a quad's row is one load of 16
// floats and one of the 16 after the first 2, and 3 two-table
// permutations gather each element across the 16 lanes; the half-way sums
// go to a scratch block instead of the strided rows of the result.

// Lane l of a gather index reads element 4l+b of the first table for
// l < 4 and element 4(l−4)+b of the second for 4 ≤ l < 8 (lanes 8–15: 0).
DATA gatherIdx<>+0(SB)/4, $0
DATA gatherIdx<>+4(SB)/4, $4
DATA gatherIdx<>+8(SB)/4, $8
DATA gatherIdx<>+12(SB)/4, $12
DATA gatherIdx<>+16(SB)/4, $16
DATA gatherIdx<>+20(SB)/4, $20
DATA gatherIdx<>+24(SB)/4, $24
DATA gatherIdx<>+28(SB)/4, $28
DATA gatherIdx<>+32(SB)/8, $0
DATA gatherIdx<>+40(SB)/8, $0
DATA gatherIdx<>+48(SB)/8, $0
DATA gatherIdx<>+56(SB)/8, $0
GLOBL gatherIdx<>(SB), RODATA|NOPTR, $64

// Interleaving indices of the output: pairLo puts lanes 0–7 of two
// vectors side by side (t of the first, t of the second, t+1, …), pairHi
// lanes 8–15; quad puts elements 2l, 2l+1 of the first table and 2l,
// 2l+1 of the second together (l = 0…3); quad+8 the same from 8 on.
DATA pairLo<>+0(SB)/4, $0
DATA pairLo<>+4(SB)/4, $16
DATA pairLo<>+8(SB)/4, $1
DATA pairLo<>+12(SB)/4, $17
DATA pairLo<>+16(SB)/4, $2
DATA pairLo<>+20(SB)/4, $18
DATA pairLo<>+24(SB)/4, $3
DATA pairLo<>+28(SB)/4, $19
DATA pairLo<>+32(SB)/4, $4
DATA pairLo<>+36(SB)/4, $20
DATA pairLo<>+40(SB)/4, $5
DATA pairLo<>+44(SB)/4, $21
DATA pairLo<>+48(SB)/4, $6
DATA pairLo<>+52(SB)/4, $22
DATA pairLo<>+56(SB)/4, $7
DATA pairLo<>+60(SB)/4, $23
GLOBL pairLo<>(SB), RODATA|NOPTR, $64

DATA quadIdx<>+0(SB)/4, $0
DATA quadIdx<>+4(SB)/4, $1
DATA quadIdx<>+8(SB)/4, $16
DATA quadIdx<>+12(SB)/4, $17
DATA quadIdx<>+16(SB)/4, $2
DATA quadIdx<>+20(SB)/4, $3
DATA quadIdx<>+24(SB)/4, $18
DATA quadIdx<>+28(SB)/4, $19
DATA quadIdx<>+32(SB)/4, $4
DATA quadIdx<>+36(SB)/4, $5
DATA quadIdx<>+40(SB)/4, $20
DATA quadIdx<>+44(SB)/4, $21
DATA quadIdx<>+48(SB)/4, $6
DATA quadIdx<>+52(SB)/4, $7
DATA quadIdx<>+56(SB)/4, $22
DATA quadIdx<>+60(SB)/4, $23
GLOBL quadIdx<>(SB), RODATA|NOPTR, $64

DATA winograd512Const<>+0(SB)/4, $0x40800000  // 4
DATA winograd512Const<>+4(SB)/4, $0x40a00000  // 5
DATA winograd512Const<>+8(SB)/4, $0x40000000  // 2
DATA winograd512Const<>+12(SB)/4, $0x41000000 // 8
DATA winograd512Const<>+16(SB)/4, $1           // index steps (integers)
DATA winograd512Const<>+20(SB)/4, $2
DATA winograd512Const<>+24(SB)/4, $3
DATA winograd512Const<>+28(SB)/4, $8
GLOBL winograd512Const<>(SB), RODATA|NOPTR, $32



// QUAD_ROWS (QUADS below) sets R8–R11 to the quads' first rows in dst and CX to a row's
// bytes, for the routines whose arguments begin (dst *float32, stride int,
// off *[16]int).
#define QUAD_ROWS \
	MOVQ dst+0(FP), DI; \
	MOVQ stride+8(FP), CX; \
	SHLQ $2, CX; \
	MOVQ off+16(FP), BX; \
	QUADS(DI)

// GATHER sets x to element b of each lane's tile row: quads s0 … s3 hold
// the rows (16 floats from the quad's first tile), idx is b's index.
#define GATHER(s0, s1, s2, s3, idx, x) \
	VMOVAPS    s0, Z22; \
	VPERMT2PS  s1, idx, Z22; \
	VMOVAPS    s2, Z23; \
	VPERMT2PS  s3, idx, Z23; \
	VSHUFF32X4 $0x44, Z23, Z22, x

// INPUT_ROW16 transforms row a of the 16 tiles (the quads at R8–R11) to
// rows 6a … 6a+5 of the scratch block at DI (64 bytes a row); DI advances
// 6 rows, the quads one tile row (CX bytes).
#define INPUT_ROW16 \
	VMOVUPS (R8), Z0; \
	VMOVUPS (R9), Z1; \
	VMOVUPS (R10), Z2; \
	VMOVUPS (R11), Z3; \
	VMOVUPS 8(R8), Z4; \
	VMOVUPS 8(R9), Z5; \
	VMOVUPS 8(R10), Z6; \
	VMOVUPS 8(R11), Z7; \
	GATHER(Z0, Z1, Z2, Z3, Z24, Z16); \
	GATHER(Z0, Z1, Z2, Z3, Z25, Z17); \
	GATHER(Z4, Z5, Z6, Z7, Z24, Z18); \
	GATHER(Z4, Z5, Z6, Z7, Z25, Z19); \
	GATHER(Z4, Z5, Z6, Z7, Z26, Z20); \
	GATHER(Z4, Z5, Z6, Z7, Z27, Z21); \
	BT(Z16, Z17, Z18, Z19, Z20, Z21, Z8, Z9, Z13, Z14); \
	VMOVUPS Z16, (DI); \
	VMOVUPS Z17, 64(DI); \
	VMOVUPS Z18, 128(DI); \
	VMOVUPS Z19, 192(DI); \
	VMOVUPS Z20, 256(DI); \
	VMOVUPS Z21, 320(DI); \
	ADDQ    $384, DI; \
	ADDQ    CX, R8; \
	ADDQ    CX, R9; \
	ADDQ    CX, R10; \
	ADDQ    CX, R11

// QUADS sets R8–R11 to base + 4·off[0, 4, 8, 12] (off in BX).
#define QUADS(base) \
	MOVQ 0(BX), R8; \
	LEAQ (base)(R8*4), R8; \
	MOVQ 32(BX), R9; \
	LEAQ (base)(R9*4), R9; \
	MOVQ 64(BX), R10; \
	LEAQ (base)(R10*4), R10; \
	MOVQ 96(BX), R11; \
	LEAQ (base)(R11*4), R11

// func winogradInput4x16(dst *float32, ldd int, src *float32, stride int, off *[16]int, scratch *[576]float32)
//
//	for l, o := range off { column l of dst = Bᵀ d B, d = the 6×6 tile at src[o:] }, off in quads
TEXT ·winogradInput4x16(SB), NOSPLIT, $0-48
	MOVQ src+16(FP), SI
	MOVQ stride+24(FP), CX
	SHLQ $2, CX
	MOVQ off+32(FP), BX
	QUADS(SI)
	MOVQ scratch+40(FP), DI

	VBROADCASTSS winograd512Const<>+0(SB), Z13
	VBROADCASTSS winograd512Const<>+4(SB), Z14
	// The indices of elements 0–3: gatherIdx, then + 1, 2, 3.
	VMOVDQU32    gatherIdx<>(SB), Z24
	VPBROADCASTD winograd512Const<>+16(SB), Z8
	VPADDD       Z8, Z24, Z25
	VPBROADCASTD winograd512Const<>+20(SB), Z8
	VPADDD       Z8, Z24, Z26
	VPBROADCASTD winograd512Const<>+24(SB), Z8
	VPADDD       Z8, Z24, Z27

	// Rows: row a of the tiles to rows 6a … 6a+5 of the scratch block.
	INPUT_ROW16
	INPUT_ROW16
	INPUT_ROW16
	INPUT_ROW16
	INPUT_ROW16
	INPUT_ROW16

	// Columns: rows j, j+6, …, j+30 of the scratch block to the same
	// rows of dst.
	MOVQ scratch+40(FP), SI
	MOVQ dst+0(FP), DI
	MOVQ ldd+8(FP), DX
	SHLQ $2, DX
	LEAQ (DX)(DX*2), R8
	SHLQ $1, R8
	MOVQ $6, CX

inputColumn16:
	VMOVUPS (SI), Z0
	VMOVUPS 384(SI), Z1
	VMOVUPS 768(SI), Z2
	VMOVUPS 1152(SI), Z3
	VMOVUPS 1536(SI), Z4
	VMOVUPS 1920(SI), Z5
	BT(Z0, Z1, Z2, Z3, Z4, Z5, Z6, Z7, Z13, Z14)
	LEAQ    (DI)(R8*2), R9
	ADDQ    R8, R9
	VMOVUPS Z0, (DI)
	VMOVUPS Z1, (DI)(R8*1)
	VMOVUPS Z2, (DI)(R8*2)
	VMOVUPS Z3, (R9)
	VMOVUPS Z4, (R9)(R8*1)
	VMOVUPS Z5, (R9)(R8*2)
	ADDQ    $64, SI
	ADDQ    DX, DI
	DECQ    CX
	JNZ     inputColumn16
	VZEROUPPER
	RET

// QUADS4 lays out elements 0–3 of the 16 lanes' rows, r0 … r3, as the
// quads' rows: Z20, Z16, Z21, Z17 get quads 0–3, element j of tile l of a
// quad at 4l+j (Z24–Z27: pairLo, pairLo+8, quadIdx, quadIdx+8; Z18, Z19
// are scratch).
#define QUADS4(r0, r1, r2, r3) \
	VMOVAPS   r0, Z16; \
	VPERMT2PS r1, Z24, Z16; \
	VMOVAPS   r0, Z17; \
	VPERMT2PS r1, Z25, Z17; \
	VMOVAPS   r2, Z18; \
	VPERMT2PS r3, Z24, Z18; \
	VMOVAPS   r2, Z19; \
	VPERMT2PS r3, Z25, Z19; \
	VMOVAPS   Z16, Z20; \
	VPERMT2PS Z18, Z26, Z20; \
	VPERMT2PS Z18, Z27, Z16; \
	VMOVAPS   Z17, Z21; \
	VPERMT2PS Z19, Z26, Z21; \
	VPERMT2PS Z19, Z27, Z17

// QUAD_INDICES sets Z24–Z27 to QUADS4's indices and Z28 to 0.
#define QUAD_INDICES \
	VPXORD       Z28, Z28, Z28; \
	VMOVDQU32    pairLo<>(SB), Z24; \
	VPBROADCASTD winograd512Const<>+28(SB), Z8; \
	VPADDD       Z8, Z24, Z25; \
	VMOVDQU32    quadIdx<>(SB), Z26; \
	VPADDD       Z8, Z26, Z27

// COLUMN16 loads rows 0, 6, …, 30 of the 36 at SI (R8 bytes to 6 rows) to
// Z0–Z5.
#define COLUMN16 \
	LEAQ    (SI)(R8*2), R9; \
	ADDQ    R8, R9; \
	VMOVUPS (SI), Z0; \
	VMOVUPS (SI)(R8*1), Z1; \
	VMOVUPS (SI)(R8*2), Z2; \
	VMOVUPS (R9), Z3; \
	VMOVUPS (R9)(R8*1), Z4; \
	VMOVUPS (R9)(R8*2), Z5

// OUTPUT_ROW16 applies Aᵀ to row i of Aᵀ M (rows 6i … 6i+5 of the scratch
// block at SI), adds Z12, rectifies if rect (a macro: RECT16 or nothing),
// and stores the 4×16 results to row i of each quad's blocks (R8–R11);
// SI advances 6 rows, the quads one output row (CX bytes).
#define OUTPUT_ROW16(rect) \
	VMOVUPS    (SI), Z0; \
	VMOVUPS    64(SI), Z1; \
	VMOVUPS    128(SI), Z2; \
	VMOVUPS    192(SI), Z3; \
	VMOVUPS    256(SI), Z4; \
	VMOVUPS    320(SI), Z5; \
	ADDQ       $384, SI; \
	AT(Z0, Z1, Z2, Z3, Z4, Z5, Z6, Z7, Z13, Z14, Z15); \
	VADDPS     Z12, Z0, Z0; \
	VADDPS     Z12, Z7, Z7; \
	VADDPS     Z12, Z6, Z6; \
	VADDPS     Z12, Z5, Z5; \
	rect; \
	QUADS4(Z0, Z7, Z6, Z5); \
	VMOVUPS    Z20, (R8); \
	VMOVUPS    Z16, (R9); \
	VMOVUPS    Z21, (R10); \
	VMOVUPS    Z17, (R11); \
	ADDQ       CX, R8; \
	ADDQ       CX, R9; \
	ADDQ       CX, R10; \
	ADDQ       CX, R11

// RECT16 rectifies the results as rectify8 does: x where x is not ≤ 0
// (above zero, or NaN), else +0; Z28 = 0.
#define RECT16 \
	VCMPPS    $6, Z28, Z0, K1; \
	VMOVAPS.Z Z0, K1, Z0; \
	VCMPPS    $6, Z28, Z7, K1; \
	VMOVAPS.Z Z7, K1, Z7; \
	VCMPPS    $6, Z28, Z6, K1; \
	VMOVAPS.Z Z6, K1, Z6; \
	VCMPPS    $6, Z28, Z5, K1; \
	VMOVAPS.Z Z5, K1, Z5

#define NORECT16 \
	NOP

// func winogradOutput4x16(dst *float32, stride int, off *[16]int, src *float32, lds int, bias float32, rectify bool, scratch *[384]float32)
//
//	for l, o := range off { the 4×4 block at dst[o:] = Aᵀ M A + bias, M = column l of src, rectified if rectify }, off in quads
TEXT ·winogradOutput4x16(SB), NOSPLIT, $0-56
	MOVQ src+24(FP), SI
	MOVQ lds+32(FP), DX
	SHLQ $2, DX
	LEAQ (DX)(DX*2), R8
	SHLQ $1, R8
	MOVQ scratch+48(FP), DI
	VBROADCASTSS winograd512Const<>+0(SB), Z13
	VBROADCASTSS winograd512Const<>+8(SB), Z14
	VBROADCASTSS winograd512Const<>+12(SB), Z15

	// Columns: Aᵀ M, column b of M (rows b, b+6, …, b+30 of src) to
	// rows b, b+6, b+12, b+18 of the scratch block.
	MOVQ $6, CX

outputColumn16:
	COLUMN16
	AT(Z0, Z1, Z2, Z3, Z4, Z5, Z6, Z7, Z13, Z14, Z15)
	VMOVUPS Z0, (DI)
	VMOVUPS Z7, 384(DI)
	VMOVUPS Z6, 768(DI)
	VMOVUPS Z5, 1152(DI)
	ADDQ    DX, SI
	ADDQ    $64, DI
	DECQ    CX
	JNZ     outputColumn16

	// Rows: row i of Aᵀ M times A, to row i of each output block.
	QUAD_ROWS
	MOVQ         scratch+48(FP), SI
	VBROADCASTSS bias+40(FP), Z12
	QUAD_INDICES
	CMPB         rectify+44(FP), $0
	JNE          outputRectified16
	OUTPUT_ROW16(NORECT16)
	OUTPUT_ROW16(NORECT16)
	OUTPUT_ROW16(NORECT16)
	OUTPUT_ROW16(NORECT16)
	VZEROUPPER
	RET

outputRectified16:
	OUTPUT_ROW16(RECT16)
	OUTPUT_ROW16(RECT16)
	OUTPUT_ROW16(RECT16)
	OUTPUT_ROW16(RECT16)
	VZEROUPPER
	RET


// ADJOINT_ROW16 applies B to row a of B V (rows 6a … 6a+5 of the scratch
// block at SI), lays the 6 results of each tile out as its row of the
// block, elements 0–3 of the 4 tiles of a quad side by side (the output
// transform's interleave) and elements 4, 5 shifted a tile on, sums the
// overlaps in registers and adds each quad's 16 floats to its row (R8–R11),
// then the 2 past each quad (the last tile's elements 4, 5) with K2 =
// 0b11. SI advances 6 rows, the quads one row (CX bytes).
#define ADJOINT_ROW16 \
	VMOVUPS    (SI), Z0; \
	VMOVUPS    64(SI), Z1; \
	VMOVUPS    128(SI), Z2; \
	VMOVUPS    192(SI), Z3; \
	VMOVUPS    256(SI), Z4; \
	VMOVUPS    320(SI), Z5; \
	ADDQ       $384, SI; \
	B6(Z0, Z1, Z2, Z3, Z4, Z5, Z6, Z7, Z8, Z9, Z13, Z14, Z15, VPXORD); \
	QUADS4(Z0, Z1, Z2, Z3); \
	VMOVAPS    Z4, Z18; \
	VPERMT2PS  Z5, Z24, Z18; \
	VMOVAPS    Z4, Z19; \
	VPERMT2PS  Z5, Z25, Z19; \
	VMOVAPS    Z18, Z22; \
	VPERMT2PS  Z28, Z26, Z22; \
	VPERMT2PS  Z28, Z27, Z18; \
	VMOVAPS    Z19, Z23; \
	VPERMT2PS  Z28, Z26, Z23; \
	VPERMT2PS  Z28, Z27, Z19; \
	VALIGND    $12, Z28, Z22, Z0; \
	VADDPS     Z0, Z20, Z20; \
	VALIGND    $12, Z22, Z28, Z1; \
	VALIGND    $12, Z28, Z18, Z2; \
	VADDPS     Z2, Z16, Z16; \
	VALIGND    $12, Z18, Z28, Z3; \
	VALIGND    $12, Z28, Z23, Z4; \
	VADDPS     Z4, Z21, Z21; \
	VALIGND    $12, Z23, Z28, Z5; \
	VALIGND    $12, Z28, Z19, Z6; \
	VADDPS     Z6, Z17, Z17; \
	VALIGND    $12, Z19, Z28, Z7; \
	VADDPS     (R8), Z20, Z20; \
	VMOVUPS    Z20, (R8); \
	VADDPS     (R9), Z16, Z16; \
	VMOVUPS    Z16, (R9); \
	VADDPS     (R10), Z21, Z21; \
	VMOVUPS    Z21, (R10); \
	VADDPS     (R11), Z17, Z17; \
	VMOVUPS    Z17, (R11); \
	VMOVUPS.Z  64(R8), K2, Z8; \
	VADDPS     Z1, Z8, Z8; \
	VMOVUPS    Z8, K2, 64(R8); \
	VMOVUPS.Z  64(R9), K2, Z8; \
	VADDPS     Z3, Z8, Z8; \
	VMOVUPS    Z8, K2, 64(R9); \
	VMOVUPS.Z  64(R10), K2, Z8; \
	VADDPS     Z5, Z8, Z8; \
	VMOVUPS    Z8, K2, 64(R10); \
	VMOVUPS.Z  64(R11), K2, Z8; \
	VADDPS     Z7, Z8, Z8; \
	VMOVUPS    Z8, K2, 64(R11); \
	ADDQ       CX, R8; \
	ADDQ       CX, R9; \
	ADDQ       CX, R10; \
	ADDQ       CX, R11

// func winogradInputAdjoint4x16(dst *float32, stride int, off *[16]int, src *float32, lds int, scratch *[576]float32)
//
//	for l, o := range off { the 6×6 block at dst[o:] += B V Bᵀ, V = column l of src }, off in quads
TEXT ·winogradInputAdjoint4x16(SB), NOSPLIT, $0-48
	MOVQ         src+24(FP), SI
	MOVQ         lds+32(FP), DX
	SHLQ         $2, DX
	LEAQ         (DX)(DX*2), R8
	SHLQ         $1, R8
	MOVQ         scratch+40(FP), DI
	VBROADCASTSS winograd512Const<>+0(SB), Z13
	VBROADCASTSS winograd512Const<>+4(SB), Z14
	VBROADCASTSS winograd512Const<>+8(SB), Z15

	// Columns: B V, column j of V (rows j, j+6, …, j+30 of src) to rows j,
	// j+6, …, j+30 of the scratch block.
	MOVQ $6, CX

adjointColumn16:
	COLUMN16
	B6(Z0, Z1, Z2, Z3, Z4, Z5, Z6, Z7, Z8, Z9, Z13, Z14, Z15, VPXORD)
	VMOVUPS Z0, (DI)
	VMOVUPS Z1, 384(DI)
	VMOVUPS Z2, 768(DI)
	VMOVUPS Z3, 1152(DI)
	VMOVUPS Z4, 1536(DI)
	VMOVUPS Z5, 1920(DI)
	ADDQ    DX, SI
	ADDQ    $64, DI
	DECQ    CX
	JNZ     adjointColumn16

	// Rows: row a of B V times Bᵀ, added to row a of each tile.
	QUAD_ROWS
	MOVQ         scratch+40(FP), SI
	QUAD_INDICES
	MOVL         $3, AX
	KMOVW        AX, K2
	ADJOINT_ROW16
	ADJOINT_ROW16
	ADJOINT_ROW16
	ADJOINT_ROW16
	ADJOINT_ROW16
	ADJOINT_ROW16
	VZEROUPPER
	RET
