//go:build amd64 && !purego

#include "textflag.h"
#include "winograd_ops.h"

// The fused transforms of F(4×4, 3×3) for blocks of 8 tiles, one tile per
// lane of a Y register (AVX2 + FMA); see winograd_fused.go for the Go
// versions, which compute the same sums one tile at a time.

DATA winogradConst<>+0(SB)/4, $0x40800000  // 4
DATA winogradConst<>+4(SB)/4, $0x40a00000  // 5
DATA winogradConst<>+8(SB)/4, $0x40000000  // 2
DATA winogradConst<>+12(SB)/4, $0x41000000 // 8
GLOBL winogradConst<>(SB), RODATA|NOPTR, $16




// LANES sets R8–R13, AX, BX to base + 4·off[0..7] (off in BX, base in reg).
#define LANES(base) \
	MOVQ 0(BX), R8; \
	LEAQ (base)(R8*4), R8; \
	MOVQ 8(BX), R9; \
	LEAQ (base)(R9*4), R9; \
	MOVQ 16(BX), R10; \
	LEAQ (base)(R10*4), R10; \
	MOVQ 24(BX), R11; \
	LEAQ (base)(R11*4), R11; \
	MOVQ 32(BX), R12; \
	LEAQ (base)(R12*4), R12; \
	MOVQ 40(BX), R13; \
	LEAQ (base)(R13*4), R13; \
	MOVQ 48(BX), AX; \
	LEAQ (base)(AX*4), AX; \
	MOVQ 56(BX), BX; \
	LEAQ (base)(BX*4), BX

// NEXTROW advances the 8 lane pointers by CX bytes.
#define NEXTROW \
	ADDQ CX, R8; \
	ADDQ CX, R9; \
	ADDQ CX, R10; \
	ADDQ CX, R11; \
	ADDQ CX, R12; \
	ADDQ CX, R13; \
	ADDQ CX, AX; \
	ADDQ CX, BX

// LOAD_COLUMN loads rows p, p+R8, …, p+5·R8 (one column of the 6×6
// matrices of 8 tiles) to Y0–Y5, leaving p+3·R8 in R9; STORE_COLUMN stores
// Y0–Y5 back there.
#define LOAD_COLUMN(p) \
	LEAQ    (p)(R8*2), R9; \
	ADDQ    R8, R9; \
	VMOVUPS (p), Y0; \
	VMOVUPS (p)(R8*1), Y1; \
	VMOVUPS (p)(R8*2), Y2; \
	VMOVUPS (R9), Y3; \
	VMOVUPS (R9)(R8*1), Y4; \
	VMOVUPS (R9)(R8*2), Y5

#define STORE_COLUMN(p) \
	VMOVUPS Y0, (p); \
	VMOVUPS Y1, (p)(R8*1); \
	VMOVUPS Y2, (p)(R8*2); \
	VMOVUPS Y3, (R9); \
	VMOVUPS Y4, (R9)(R8*1); \
	VMOVUPS Y5, (R9)(R8*2)

// INPUT_ROW loads row a of the 8 tiles, transposes it to x0..x5 (element b
// of the row across the lanes), applies Bᵀ and stores the 6 results to the
// rows of DI, DI+DX, …; DI advances 6 rows, the lanes one tile row.
#define INPUT_ROW \
	VMOVUPS    (R8), Y0; \
	VMOVUPS    (R9), Y1; \
	VMOVUPS    (R10), Y2; \
	VMOVUPS    (R11), Y3; \
	VMOVUPS    (R12), Y4; \
	VMOVUPS    (R13), Y5; \
	VMOVUPS    (AX), Y6; \
	VMOVUPS    (BX), Y7; \
	VUNPCKLPS  Y1, Y0, Y8; \
	VUNPCKHPS  Y1, Y0, Y9; \
	VUNPCKLPS  Y3, Y2, Y0; \
	VUNPCKHPS  Y3, Y2, Y1; \
	VUNPCKLPS  Y5, Y4, Y2; \
	VUNPCKHPS  Y5, Y4, Y3; \
	VUNPCKLPS  Y7, Y6, Y4; \
	VUNPCKHPS  Y7, Y6, Y5; \
	VSHUFPS    $0x44, Y0, Y8, Y6; \
	VSHUFPS    $0xEE, Y0, Y8, Y7; \
	VSHUFPS    $0x44, Y1, Y9, Y8; \
	VSHUFPS    $0xEE, Y1, Y9, Y0; \
	VSHUFPS    $0x44, Y4, Y2, Y9; \
	VSHUFPS    $0xEE, Y4, Y2, Y1; \
	VSHUFPS    $0x44, Y5, Y3, Y2; \
	VSHUFPS    $0xEE, Y5, Y3, Y4; \
	VPERM2F128 $0x20, Y9, Y6, Y10; \
	VPERM2F128 $0x31, Y9, Y6, Y11; \
	VPERM2F128 $0x20, Y1, Y7, Y6; \
	VPERM2F128 $0x31, Y1, Y7, Y9; \
	VPERM2F128 $0x20, Y2, Y8, Y7; \
	VPERM2F128 $0x20, Y4, Y0, Y1; \
	BT(Y10, Y6, Y7, Y1, Y11, Y9, Y0, Y2, Y13, Y14); \
	VMOVUPS    Y10, (DI); \
	VMOVUPS    Y6, (DI)(DX*1); \
	VMOVUPS    Y7, (DI)(DX*2); \
	LEAQ       (DI)(DX*2), DI; \
	ADDQ       DX, DI; \
	VMOVUPS    Y1, (DI); \
	VMOVUPS    Y11, (DI)(DX*1); \
	VMOVUPS    Y9, (DI)(DX*2); \
	LEAQ       (DI)(DX*2), DI; \
	ADDQ       DX, DI; \
	NEXTROW

// func winogradInput4x8(dst *float32, ldd int, src *float32, stride int, off *[8]int)
//
//	for l, o := range off { column l of dst = Bᵀ d B, d = the 6×6 tile at src[o:] }
TEXT ·winogradInput4x8(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ ldd+8(FP), DX
	SHLQ $2, DX
	MOVQ src+16(FP), SI
	MOVQ stride+24(FP), CX
	SHLQ $2, CX
	MOVQ off+32(FP), BX
	LANES(SI)
	VBROADCASTSS winogradConst<>+0(SB), Y13
	VBROADCASTSS winogradConst<>+4(SB), Y14
	MOVQ DI, SI

	// Rows: row a of the tiles to rows 6a … 6a+5 of dst.
	INPUT_ROW
	INPUT_ROW
	INPUT_ROW
	INPUT_ROW
	INPUT_ROW
	INPUT_ROW

	// Columns: rows j, j+6, …, j+30 of dst, in place.
	LEAQ (DX)(DX*2), R8
	SHLQ $1, R8
	MOVQ $6, CX

inputColumn:
	LOAD_COLUMN(SI)
	BT(Y0, Y1, Y2, Y3, Y4, Y5, Y6, Y7, Y13, Y14)
	STORE_COLUMN(SI)
	ADDQ DX, SI
	DECQ    CX
	JNZ     inputColumn
	VZEROUPPER
	RET

// OUTPUT_ROW loads row i of Aᵀ M (rows SI, SI+DX, …), applies Aᵀ, adds Y12
// and stores the 4 results of each lane to its output row; SI advances 6
// rows, the lanes one output row. OUTPUT_ROW_RECTIFIED rectifies the
// results before it stores them, as rectify8 does: x where x is not ≤ 0
// (above zero, or NaN), else +0.
#define OUTPUT_ROW_SUMS \
	VMOVUPS     (SI), Y0; \
	ADDQ        DX, SI; \
	VMOVUPS     (SI), Y1; \
	ADDQ        DX, SI; \
	VMOVUPS     (SI), Y2; \
	ADDQ        DX, SI; \
	VMOVUPS     (SI), Y3; \
	ADDQ        DX, SI; \
	VMOVUPS     (SI), Y4; \
	ADDQ        DX, SI; \
	VMOVUPS     (SI), Y5; \
	ADDQ        DX, SI; \
	AT(Y0, Y1, Y2, Y3, Y4, Y5, Y6, Y7, Y13, Y14, Y15); \
	VADDPS      Y12, Y0, Y0; \
	VADDPS      Y12, Y7, Y7; \
	VADDPS      Y12, Y6, Y6; \
	VADDPS      Y12, Y5, Y5

#define RECTIFY4 \
	VXORPS Y1, Y1, Y1; \
	VCMPPS $6, Y1, Y0, Y2; \
	VANDPS Y0, Y2, Y0; \
	VCMPPS $6, Y1, Y7, Y2; \
	VANDPS Y7, Y2, Y7; \
	VCMPPS $6, Y1, Y6, Y2; \
	VANDPS Y6, Y2, Y6; \
	VCMPPS $6, Y1, Y5, Y2; \
	VANDPS Y5, Y2, Y5

#define OUTPUT_ROW_STORE \
	VUNPCKLPS   Y7, Y0, Y1; \
	VUNPCKHPS   Y7, Y0, Y2; \
	VUNPCKLPS   Y5, Y6, Y3; \
	VUNPCKHPS   Y5, Y6, Y4; \
	VSHUFPS     $0x44, Y3, Y1, Y8; \
	VSHUFPS     $0xEE, Y3, Y1, Y9; \
	VSHUFPS     $0x44, Y4, Y2, Y10; \
	VSHUFPS     $0xEE, Y4, Y2, Y11; \
	VMOVUPS     X8, (R8); \
	VEXTRACTF128 $1, Y8, (R12); \
	VMOVUPS     X9, (R9); \
	VEXTRACTF128 $1, Y9, (R13); \
	VMOVUPS     X10, (R10); \
	VEXTRACTF128 $1, Y10, (AX); \
	VMOVUPS     X11, (R11); \
	VEXTRACTF128 $1, Y11, (BX); \
	NEXTROW

#define OUTPUT_ROW OUTPUT_ROW_SUMS; OUTPUT_ROW_STORE
#define OUTPUT_ROW_RECTIFIED OUTPUT_ROW_SUMS; RECTIFY4; OUTPUT_ROW_STORE

// func winogradOutput4x8(dst *float32, stride int, off *[8]int, src *float32, lds int, bias float32, rectify bool)
//
//	for l, o := range off { the 4×4 block at dst[o:] = Aᵀ M A + bias, M = column l of src, rectified if rectify }
TEXT ·winogradOutput4x8(SB), NOSPLIT, $0-45
	MOVQ src+24(FP), SI
	MOVQ lds+32(FP), DX
	SHLQ $2, DX
	LEAQ (DX)(DX*2), R8
	SHLQ $1, R8
	VBROADCASTSS winogradConst<>+0(SB), Y13
	VBROADCASTSS winogradConst<>+8(SB), Y14
	VBROADCASTSS winogradConst<>+12(SB), Y15

	// Columns: Aᵀ M, column b of M (rows b, b+6, …, b+30 of src) to
	// rows b, b+6, b+12, b+18 of src.
	MOVQ SI, DI
	MOVQ $6, CX

outputColumn:
	LOAD_COLUMN(DI)
	AT(Y0, Y1, Y2, Y3, Y4, Y5, Y6, Y7, Y13, Y14, Y15)
	VMOVUPS Y0, (DI)
	VMOVUPS Y7, (DI)(R8*1)
	VMOVUPS Y6, (DI)(R8*2)
	VMOVUPS Y5, (R9)
	ADDQ    DX, DI
	DECQ    CX
	JNZ     outputColumn

	// Rows: row i of Aᵀ M (rows 6i … 6i+5 of src) times A, to row i
	// of each output block.
	MOVQ         dst+0(FP), DI
	MOVQ         stride+8(FP), CX
	SHLQ         $2, CX
	MOVQ         off+16(FP), BX
	LANES(DI)
	VBROADCASTSS bias+40(FP), Y12
	CMPB         rectify+44(FP), $0
	JNE          outputRectified
	OUTPUT_ROW
	OUTPUT_ROW
	OUTPUT_ROW
	OUTPUT_ROW
	VZEROUPPER
	RET

outputRectified:
	OUTPUT_ROW_RECTIFIED
	OUTPUT_ROW_RECTIFIED
	OUTPUT_ROW_RECTIFIED
	OUTPUT_ROW_RECTIFIED
	VZEROUPPER
	RET

// GRAD_ROW loads row i of the 8 4×4 tiles, transposes it to e0..e3 (element
// j of the row across the lanes), applies A and stores the 6 results to the
// rows of DI, DI+DX, …; DI advances 6 rows, the lanes one tile row.
#define GRAD_ROW \
	VMOVUPS     (R8), X0; \
	VINSERTF128 $1, (R12), Y0, Y0; \
	VMOVUPS     (R9), X1; \
	VINSERTF128 $1, (R13), Y1, Y1; \
	VMOVUPS     (R10), X2; \
	VINSERTF128 $1, (AX), Y2, Y2; \
	VMOVUPS     (R11), X3; \
	VINSERTF128 $1, (BX), Y3, Y3; \
	VUNPCKLPS   Y1, Y0, Y4; \
	VUNPCKHPS   Y1, Y0, Y5; \
	VUNPCKLPS   Y3, Y2, Y6; \
	VUNPCKHPS   Y3, Y2, Y7; \
	VSHUFPS     $0x44, Y6, Y4, Y0; \
	VSHUFPS     $0xEE, Y6, Y4, Y1; \
	VSHUFPS     $0x44, Y7, Y5, Y2; \
	VSHUFPS     $0xEE, Y7, Y5, Y3; \
	A6(Y0, Y1, Y2, Y3, Y4, Y5, Y6, Y13, Y14, Y15); \
	VMOVUPS     Y0, (DI); \
	VMOVUPS     Y1, (DI)(DX*1); \
	VMOVUPS     Y4, (DI)(DX*2); \
	LEAQ        (DI)(DX*2), DI; \
	ADDQ        DX, DI; \
	VMOVUPS     Y5, (DI); \
	VMOVUPS     Y2, (DI)(DX*1); \
	VMOVUPS     Y3, (DI)(DX*2); \
	LEAQ        (DI)(DX*2), DI; \
	ADDQ        DX, DI; \
	NEXTROW

// func winogradGradOutput4x8(dst *float32, ldd int, src *float32, stride int, off *[8]int)
//
//	for l, o := range off { column l of dst = A e Aᵀ, e = the 4×4 tile at src[o:] }
TEXT ·winogradGradOutput4x8(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ ldd+8(FP), DX
	SHLQ $2, DX
	MOVQ src+16(FP), SI
	MOVQ stride+24(FP), CX
	SHLQ $2, CX
	MOVQ off+32(FP), BX
	LANES(SI)
	VBROADCASTSS winogradConst<>+0(SB), Y13
	VBROADCASTSS winogradConst<>+8(SB), Y14
	VBROADCASTSS winogradConst<>+12(SB), Y15
	MOVQ DI, SI

	// Rows: e A... row i of the tiles to rows 6i … 6i+5 of dst.
	GRAD_ROW
	GRAD_ROW
	GRAD_ROW
	GRAD_ROW

	// Columns: rows b, b+6, b+12, b+18 of dst to rows b, b+6, …, b+30.
	LEAQ (DX)(DX*2), R8
	SHLQ $1, R8
	MOVQ $6, CX

gradColumn:
	LEAQ    (SI)(R8*2), R9
	ADDQ    R8, R9
	VMOVUPS (SI), Y0
	VMOVUPS (SI)(R8*1), Y1
	VMOVUPS (SI)(R8*2), Y2
	VMOVUPS (R9), Y3
	A6(Y0, Y1, Y2, Y3, Y4, Y5, Y6, Y13, Y14, Y15)
	VMOVUPS Y0, (SI)
	VMOVUPS Y1, (SI)(R8*1)
	VMOVUPS Y4, (SI)(R8*2)
	VMOVUPS Y5, (R9)
	VMOVUPS Y2, (R9)(R8*1)
	VMOVUPS Y3, (R9)(R8*2)
	ADDQ    DX, SI
	DECQ    CX
	JNZ     gradColumn
	VZEROUPPER
	RET


// ADJOINT_ROW loads row a of B V (rows SI, SI+DX, …), applies B, transposes
// the 6 results (element b across the lanes, Y12 = 0 for elements 6 and 7)
// to one row per lane and adds each to its tile's row a: lanes 0, 2, 4, 6
// first, then 1, 3, 5, 7, so that a row does not load what the row before
// it has just stored (neighbouring tiles overlap). SI advances 6 rows, the
// lanes one tile row.
#define ADJOINT_ROW \
	VMOVUPS    (SI), Y0; \
	ADDQ       DX, SI; \
	VMOVUPS    (SI), Y1; \
	ADDQ       DX, SI; \
	VMOVUPS    (SI), Y2; \
	ADDQ       DX, SI; \
	VMOVUPS    (SI), Y3; \
	ADDQ       DX, SI; \
	VMOVUPS    (SI), Y4; \
	ADDQ       DX, SI; \
	VMOVUPS    (SI), Y5; \
	ADDQ       DX, SI; \
	B6(Y0, Y1, Y2, Y3, Y4, Y5, Y6, Y7, Y8, Y9, Y13, Y14, Y15, VXORPS); \
	VUNPCKLPS  Y1, Y0, Y6; \
	VUNPCKHPS  Y1, Y0, Y7; \
	VUNPCKLPS  Y3, Y2, Y8; \
	VUNPCKHPS  Y3, Y2, Y9; \
	VUNPCKLPS  Y5, Y4, Y10; \
	VUNPCKHPS  Y5, Y4, Y11; \
	VSHUFPS    $0x44, Y8, Y6, Y0; \
	VSHUFPS    $0xEE, Y8, Y6, Y1; \
	VSHUFPS    $0x44, Y9, Y7, Y2; \
	VSHUFPS    $0xEE, Y9, Y7, Y3; \
	VSHUFPS    $0x44, Y12, Y10, Y4; \
	VSHUFPS    $0xEE, Y12, Y10, Y5; \
	VSHUFPS    $0x44, Y12, Y11, Y6; \
	VSHUFPS    $0xEE, Y12, Y11, Y7; \
	VPERM2F128 $0x20, Y4, Y0, Y8; \
	VPERM2F128 $0x31, Y4, Y0, Y9; \
	VPERM2F128 $0x20, Y5, Y1, Y10; \
	VPERM2F128 $0x31, Y5, Y1, Y11; \
	VPERM2F128 $0x20, Y6, Y2, Y0; \
	VPERM2F128 $0x31, Y6, Y2, Y1; \
	VPERM2F128 $0x20, Y7, Y3, Y4; \
	VPERM2F128 $0x31, Y7, Y3, Y5; \
	VADDPS     (R8), Y8, Y8; \
	VMOVUPS    Y8, (R8); \
	VADDPS     (R10), Y0, Y0; \
	VMOVUPS    Y0, (R10); \
	VADDPS     (R12), Y9, Y9; \
	VMOVUPS    Y9, (R12); \
	VADDPS     (AX), Y1, Y1; \
	VMOVUPS    Y1, (AX); \
	VADDPS     (R9), Y10, Y10; \
	VMOVUPS    Y10, (R9); \
	VADDPS     (R11), Y4, Y4; \
	VMOVUPS    Y4, (R11); \
	VADDPS     (R13), Y11, Y11; \
	VMOVUPS    Y11, (R13); \
	VADDPS     (BX), Y5, Y5; \
	VMOVUPS    Y5, (BX); \
	NEXTROW

// func winogradInputAdjoint4x8(dst *float32, stride int, off *[8]int, src *float32, lds int)
//
//	for l, o := range off { the 6×6 block at dst[o:] += B V Bᵀ, V = column l of src }
TEXT ·winogradInputAdjoint4x8(SB), NOSPLIT, $0-40
	MOVQ         src+24(FP), SI
	MOVQ         lds+32(FP), DX
	SHLQ         $2, DX
	VBROADCASTSS winogradConst<>+0(SB), Y13
	VBROADCASTSS winogradConst<>+4(SB), Y14
	VBROADCASTSS winogradConst<>+8(SB), Y15

	// Columns: B V, column j of V (rows j, j+6, …, j+30 of src) in place.
	LEAQ (DX)(DX*2), R8
	SHLQ $1, R8
	MOVQ SI, DI
	MOVQ $6, CX

adjointColumn:
	LOAD_COLUMN(DI)
	B6(Y0, Y1, Y2, Y3, Y4, Y5, Y6, Y7, Y8, Y9, Y13, Y14, Y15, VXORPS)
	STORE_COLUMN(DI)
	ADDQ DX, DI
	DECQ    CX
	JNZ     adjointColumn

	// Rows: row a of B V (rows 6a … 6a+5 of src) times Bᵀ, added to row a
	// of each tile.
	MOVQ   dst+0(FP), DI
	MOVQ   stride+8(FP), CX
	SHLQ   $2, CX
	MOVQ   off+16(FP), BX
	LANES(DI)
	VXORPS Y12, Y12, Y12
	ADJOINT_ROW
	ADJOINT_ROW
	ADJOINT_ROW
	ADJOINT_ROW
	ADJOINT_ROW
	ADJOINT_ROW
	VZEROUPPER
	RET
