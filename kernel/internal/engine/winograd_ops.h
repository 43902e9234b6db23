// The arithmetic of the fused F(4×4, 3×3) transforms, shared by the 8-tile
// routines on Y registers (winograd_amd64.s) and the 16-tile ones on Z
// registers (winograd512_amd64.s): each macro takes the registers that hold
// its constants, so that a lane runs the same instructions in both.

// BT applies Bᵀ of F(4, 3) in place, x ← Bᵀx, as bt4 does; four and five
// hold 4 and 5 in every lane; tc, td are scratch.
#define BT(x0, x1, x2, x3, x4, x5, tc, td, four, five) \
	VFMADD213PS  x4, four, x0; \
	VFNMADD231PS five, x2, x0; \
	VSUBPS       x2, x4, tc; \
	VFNMADD231PS four, x2, x4; \
	VSUBPS       x1, x3, td; \
	VADDPS       td, td, td; \
	VFMADD231PS  four, x1, x5; \
	VFNMADD231PS five, x3, x5; \
	VFNMADD231PS four, x1, x3; \
	VADDPS       x3, x4, x1; \
	VSUBPS       x3, x4, x2; \
	VADDPS       td, tc, x3; \
	VSUBPS       td, tc, x4

// AT applies Aᵀ of F(4, 3), as at4 does: Aᵀm is (m0, t2, t1, m5) after it;
// four, two and eight hold 4, 2 and 8.
#define AT(m0, m1, m2, m3, m4, m5, t1, t2, four, two, eight) \
	VADDPS      m2, m1, t1; \
	VSUBPS      m2, m1, t2; \
	VADDPS      m4, m3, m1; \
	VSUBPS      m4, m3, m2; \
	VADDPS      t1, m0, m0; \
	VADDPS      m1, m0, m0; \
	VFMADD231PS four, m1, t1; \
	VFMADD231PS eight, m2, m5; \
	VADDPS      t2, m5, m5; \
	VFMADD231PS two, m2, t2

// A6 applies A = (Aᵀ)ᵀ of F(4, 3), as a4 does: Ae is (e0, e1, t1, t2, e2,
// e3) after it; four, two and eight hold 4, 2 and 8.
#define A6(e0, e1, e2, e3, t1, t2, t4, four, two, eight) \
	VADDPS      e2, e0, t1; \
	VADDPS      e3, e1, t2; \
	VFMADD213PS e0, four, e2; \
	VMULPS      eight, e3, t4; \
	VFMADD231PS two, e1, t4; \
	VADDPS      t2, t1, e1; \
	VSUBPS      t2, t1, t1; \
	VADDPS      t4, e2, t2; \
	VSUBPS      t4, e2, e2

// B6 applies B = (Bᵀ)ᵀ of F(4, 3) in place, x ← Bx, as b4 does; four, five
// and two hold 4, 5 and 2; t0–t3 are scratch; ZERO is the instruction that
// clears a register (VXORPS, or VPXORD for a Z register with AVX512F alone).
#define B6(x0, x1, x2, x3, x4, x5, t0, t1, t2, t3, four, five, two, ZERO) \
	VSUBPS       x1, x2, t0; \
	VADDPS       x2, x1, t1; \
	VSUBPS       x3, x4, t2; \
	VADDPS       x4, x3, t3; \
	VADDPS       t1, x0, x4; \
	VADDPS       t3, x4, x4; \
	ZERO       x2, x2, x2; \
	VSUBPS       t3, x2, x2; \
	VFNMADD231PS four, t1, x2; \
	VFNMADD231PS five, x0, x2; \
	ZERO       x3, x3, x3; \
	VSUBPS       t0, x3, x3; \
	VFNMADD231PS two, t2, x3; \
	VFNMADD231PS five, x5, x3; \
	VMULPS       four, t0, x1; \
	VFMADD231PS  two, t2, x1; \
	VFMADD231PS  four, x5, x1; \
	VMULPS       four, x0, x0
