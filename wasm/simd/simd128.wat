;; SIMD128 micro-kernels for allcnn's WebAssembly builds, working in place on
;; the Go instance's own memory. Assemble with
;;
;;	wat2wasm wasm/simd/simd128.wat -o wasm/simd/simd128.wasm
;;
;; (WABT 1.0.32; `make test` checks that the committed simd128.wasm is exactly
;; what this file assembles to).
;;
;; The module imports its memory, ("go", "memory"): the linear memory of the Go
;; instance (GOOS=js: instance.exports.mem; a wasip1 reactor: its export
;; "memory"). It has no memory, data segments, globals or stack of its own, so
;; it writes nothing but the matrices and the scratch block it is given.
;; Every address is a byte offset in that memory, and Go passes the address of
;; a slice's first element (package wasm/simd).
;;
;; Only SIMD128 as standardised (no relaxed SIMD: no fused multiply-add), so
;; that V8, SpiderMonkey, JavaScriptCore and wazero (compiler and
;; interpreter) all run it and all round alike.
;;
;; Exports:
;;
;;	sgemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, work)
;;	    C = alpha·op(A)·op(B) + beta·C as BLAS's row-major sgemm: op(A) is
;;	    m×k, op(B) k×n, C m×n; ta, tb: 0 for A (B) itself, 1 for its
;;	    transpose; lda, ldb, ldc: row strides in floats; work: sgemm_work()
;;	    bytes of scratch. beta = 0 overwrites C (NaNs in C do not survive).
;;	    The caller checks the arguments (gonum's checks, in package
;;	    wasm/simd); m, n, k ≥ 1.
;;	sgemm_work() → bytes of scratch sgemm needs
;;
;; The method is Goto and van de Geijn's ("Anatomy of high-performance matrix
;; multiplication", ACM TOMS 34(3), 2008), as BLIS arranges it: C is computed
;; in MR×NR = 4×8 tiles, each held in eight f32x4 registers (a last panel of
;; at most 4 columns in 4×4 tiles); op(B) is packed by blocks of KC×NC into
;; panels NR columns wide, op(A) by blocks of MC×KC into panels MR rows high,
;; so the micro-kernel reads both as one contiguous stream whatever the
;; transposes, and ragged edges are packed with zeros.
;; A tile of eight accumulators is what V8 keeps in registers: measured in
;; Node 20, 4×8 and 2×16 tiles ran at 50–60 GFLOP/s from L1, while 5×8, 6×8,
;; 4×12 and 4×16 spilled and ran at 28–36.
(module
  (import "go" "memory" (memory 0))

  ;; Blocking, in floats, written out as constants below; MR and NR are
  ;; also built into $micro (four rows, two vectors) and the packing.
  ;;   MR = 4, NR = 8, KC = 256, MC = 128, NC = 512
  ;; Scratch: packed A (MC·KC), packed B (KC·NC), one edge tile (MR·NR).
  (func (export "sgemm_work") (result i32)
    (i32.const 655488)) ;; 4·(128·256 + 256·512 + 4·8)

  (func (export "sgemm")
    (param $ta i32) (param $tb i32) (param $m i32) (param $n i32) (param $k i32)
    (param $alpha f32) (param $a i32) (param $lda i32) (param $b i32) (param $ldb i32)
    (param $beta f32) (param $c i32) (param $ldc i32) (param $work i32)
    (local $ap i32) (local $bp i32) (local $tile i32)
    (local $jc i32) (local $nc i32) (local $pc i32) (local $kc i32)
    (local $ic i32) (local $mc i32) (local $jr i32) (local $ir i32)
    (local.set $ap (local.get $work))
    (local.set $bp (i32.add (local.get $work) (i32.const 131072)))   ;; 4·MC·KC
    (local.set $tile (i32.add (local.get $bp) (i32.const 524288)))   ;; 4·KC·NC
    (call $scale (local.get $m) (local.get $n) (local.get $beta) (local.get $c) (local.get $ldc))
    ;; for jc := 0; jc < n; jc += NC
    (local.set $jc (i32.const 0))
    (loop $jcs
      (local.set $nc (call $min (i32.const 512) (i32.sub (local.get $n) (local.get $jc))))
      ;; for pc := 0; pc < k; pc += KC
      (local.set $pc (i32.const 0))
      (loop $pcs
        (local.set $kc (call $min (i32.const 256) (i32.sub (local.get $k) (local.get $pc))))
        (call $packB (local.get $tb) (local.get $b) (local.get $ldb)
          (local.get $pc) (local.get $jc) (local.get $kc) (local.get $nc) (local.get $bp))
        ;; for ic := 0; ic < m; ic += MC
        (local.set $ic (i32.const 0))
        (loop $ics
          (local.set $mc (call $min (i32.const 128) (i32.sub (local.get $m) (local.get $ic))))
          (call $packA (local.get $ta) (local.get $a) (local.get $lda)
            (local.get $ic) (local.get $pc) (local.get $mc) (local.get $kc) (local.get $ap))
          ;; for jr := 0; jr < nc; jr += NR { for ir := 0; ir < mc; ir += MR { tile } }
          (local.set $jr (i32.const 0))
          (loop $jrs
            (local.set $ir (i32.const 0))
            (loop $irs
              ;; a panel of at most 4 columns needs only half the work
              (if (i32.le_s (i32.sub (local.get $nc) (local.get $jr)) (i32.const 4))
                (then (call $micro4 (local.get $kc)
                  (i32.add (local.get $ap) (i32.shl (i32.mul (local.get $ir) (local.get $kc)) (i32.const 2)))
                  (i32.add (local.get $bp) (i32.shl (i32.mul (local.get $jr) (local.get $kc)) (i32.const 2)))
                  (call $cAt (local.get $c) (local.get $ldc) (i32.add (local.get $ic) (local.get $ir)) (i32.add (local.get $jc) (local.get $jr)))
                  (local.get $ldc) (local.get $alpha)
                  (call $min (i32.const 4) (i32.sub (local.get $mc) (local.get $ir)))
                  (i32.sub (local.get $nc) (local.get $jr))
                  (local.get $tile)))
                (else (call $micro (local.get $kc)
                  (i32.add (local.get $ap) (i32.shl (i32.mul (local.get $ir) (local.get $kc)) (i32.const 2)))
                  (i32.add (local.get $bp) (i32.shl (i32.mul (local.get $jr) (local.get $kc)) (i32.const 2)))
                  (call $cAt (local.get $c) (local.get $ldc) (i32.add (local.get $ic) (local.get $ir)) (i32.add (local.get $jc) (local.get $jr)))
                  (local.get $ldc) (local.get $alpha)
                  (call $min (i32.const 4) (i32.sub (local.get $mc) (local.get $ir)))
                  (call $min (i32.const 8) (i32.sub (local.get $nc) (local.get $jr)))
                  (local.get $tile))))
              (br_if $irs (i32.lt_s (local.tee $ir (i32.add (local.get $ir) (i32.const 4))) (local.get $mc))))
            (br_if $jrs (i32.lt_s (local.tee $jr (i32.add (local.get $jr) (i32.const 8))) (local.get $nc))))
          (br_if $ics (i32.lt_s (local.tee $ic (i32.add (local.get $ic) (i32.const 128))) (local.get $m))))
        (br_if $pcs (i32.lt_s (local.tee $pc (i32.add (local.get $pc) (i32.const 256))) (local.get $k))))
      (br_if $jcs (i32.lt_s (local.tee $jc (i32.add (local.get $jc) (i32.const 512))) (local.get $n)))))

  ;; $cAt is the address of c[i*ldc+j].
  (func $cAt (param $c i32) (param $ldc i32) (param $i i32) (param $j i32) (result i32)
    (i32.add (local.get $c) (i32.shl (i32.add (i32.mul (local.get $i) (local.get $ldc)) (local.get $j)) (i32.const 2))))

  (func $min (param $x i32) (param $y i32) (result i32)
    (select (local.get $x) (local.get $y) (i32.lt_s (local.get $x) (local.get $y))))

  ;; $scale: C = beta·C, and C = 0 when beta = 0 (BLAS: C is not read).
  ;;	for i := range m { for j := range n { c[i*ldc+j] = beta == 0 ? 0 : beta*c[i*ldc+j] } }
  (func $scale (param $m i32) (param $n i32) (param $beta f32) (param $c i32) (param $ldc i32)
    (local $row i32) (local $p i32) (local $end i32) (local $end4 i32) (local $vb v128)
    (if (f32.eq (local.get $beta) (f32.const 1)) (then (return)))
    (local.set $vb (f32x4.splat (local.get $beta)))
    (local.set $row (local.get $c))
    (loop $rows
      (local.set $p (local.get $row))
      (local.set $end (i32.add (local.get $row) (i32.shl (local.get $n) (i32.const 2))))
      (local.set $end4 (i32.add (local.get $row) (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2))))
      (if (f32.eq (local.get $beta) (f32.const 0))
        (then
          (block $done4 (loop $vec
            (br_if $done4 (i32.ge_u (local.get $p) (local.get $end4)))
            (v128.store (local.get $p) (v128.const i32x4 0 0 0 0))
            (local.set $p (i32.add (local.get $p) (i32.const 16)))
            (br $vec)))
          (block $done (loop $one
            (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
            (f32.store (local.get $p) (f32.const 0))
            (local.set $p (i32.add (local.get $p) (i32.const 4)))
            (br $one))))
        (else
          (block $done4 (loop $vec
            (br_if $done4 (i32.ge_u (local.get $p) (local.get $end4)))
            (v128.store (local.get $p) (f32x4.mul (v128.load (local.get $p)) (local.get $vb)))
            (local.set $p (i32.add (local.get $p) (i32.const 16)))
            (br $vec)))
          (block $done (loop $one
            (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
            (f32.store (local.get $p) (f32.mul (f32.load (local.get $p)) (local.get $beta)))
            (local.set $p (i32.add (local.get $p) (i32.const 4)))
            (br $one)))))
      (local.set $row (i32.add (local.get $row) (i32.shl (local.get $ldc) (i32.const 2))))
      (br_if $rows (local.tee $m (i32.sub (local.get $m) (i32.const 1))))))

  ;; $packA packs rows [i0, i0+mc) and columns [p0, p0+kc) of op(A) into
  ;; panels of 4 rows, each kc×4 floats, row r of the panel at offset 4p+r;
  ;; rows past mc are zero.
  ;;	for i := 0; i < mc; i += 4 { for p := range kc { for r := range 4 {
  ;;		dst[i*kc + 4*p + r] = i+r < mc ? opA(i0+i+r, p0+p) : 0 } } }
  ;; with opA(i, p) = a[i*lda+p], or a[p*lda+i] when ta = 1.
  (func $packA (param $ta i32) (param $a i32) (param $lda i32) (param $i0 i32) (param $p0 i32)
    (param $mc i32) (param $kc i32) (param $dst i32)
    (local $i i32) (local $p i32) (local $r i32) (local $src i32) (local $end i32)
    (local $s0 i32) (local $s1 i32) (local $s2 i32) (local $s3 i32) (local $step i32)
    (local.set $lda (i32.shl (local.get $lda) (i32.const 2)))
    (local.set $i (i32.const 0))
    (loop $panels
      (if (i32.le_s (i32.add (local.get $i) (i32.const 4)) (local.get $mc))
        (then
          (if (local.get $ta)
            (then
              ;; A is k×m: the 4 rows of a step are adjacent, one load.
              (local.set $src (i32.add (local.get $a) (i32.add
                (i32.mul (local.get $p0) (local.get $lda))
                (i32.shl (i32.add (local.get $i0) (local.get $i)) (i32.const 2)))))
              (local.set $end (i32.add (local.get $dst) (i32.shl (local.get $kc) (i32.const 4))))
              (loop $steps
                (v128.store (local.get $dst) (v128.load (local.get $src)))
                (local.set $src (i32.add (local.get $src) (local.get $lda)))
                (br_if $steps (i32.lt_u (local.tee $dst (i32.add (local.get $dst) (i32.const 16))) (local.get $end)))))
            (else
              ;; A is m×k: four row streams; 4×4 blocks are transposed in
              ;; registers, the last kc mod 4 steps one by one.
              (local.set $s0 (i32.add (local.get $a) (i32.add
                (i32.mul (i32.add (local.get $i0) (local.get $i)) (local.get $lda))
                (i32.shl (local.get $p0) (i32.const 2)))))
              (local.set $s1 (i32.add (local.get $s0) (local.get $lda)))
              (local.set $s2 (i32.add (local.get $s1) (local.get $lda)))
              (local.set $s3 (i32.add (local.get $s2) (local.get $lda)))
              (local.set $end (i32.add (local.get $dst) (i32.shl (i32.and (local.get $kc) (i32.const -4)) (i32.const 4))))
              (block $done4 (loop $blocks
                (br_if $done4 (i32.ge_u (local.get $dst) (local.get $end)))
                (call $transpose4 (local.get $dst) (local.get $s0) (local.get $s1) (local.get $s2) (local.get $s3))
                (local.set $s0 (i32.add (local.get $s0) (i32.const 16)))
                (local.set $s1 (i32.add (local.get $s1) (i32.const 16)))
                (local.set $s2 (i32.add (local.get $s2) (i32.const 16)))
                (local.set $s3 (i32.add (local.get $s3) (i32.const 16)))
                (local.set $dst (i32.add (local.get $dst) (i32.const 64)))
                (br $blocks)))
              (local.set $end (i32.add (local.get $end) (i32.shl (i32.and (local.get $kc) (i32.const 3)) (i32.const 4))))
              (block $done (loop $steps
                (br_if $done (i32.ge_u (local.get $dst) (local.get $end)))
                (f32.store offset=0 (local.get $dst) (f32.load (local.get $s0)))
                (f32.store offset=4 (local.get $dst) (f32.load (local.get $s1)))
                (f32.store offset=8 (local.get $dst) (f32.load (local.get $s2)))
                (f32.store offset=12 (local.get $dst) (f32.load (local.get $s3)))
                (local.set $s0 (i32.add (local.get $s0) (i32.const 4)))
                (local.set $s1 (i32.add (local.get $s1) (i32.const 4)))
                (local.set $s2 (i32.add (local.get $s2) (i32.const 4)))
                (local.set $s3 (i32.add (local.get $s3) (i32.const 4)))
                (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
                (br $steps))))))
        (else
          ;; The last, partial panel: element by element, zero-padded.
          (local.set $p (i32.const 0))
          (loop $steps
            (local.set $r (i32.const 0))
            (loop $rows
              (f32.store (local.get $dst)
                (if (result f32) (i32.lt_s (i32.add (local.get $i) (local.get $r)) (local.get $mc))
                  (then (f32.load (call $at (local.get $ta) (local.get $a) (local.get $lda)
                    (i32.add (local.get $i0) (i32.add (local.get $i) (local.get $r)))
                    (i32.add (local.get $p0) (local.get $p)))))
                  (else (f32.const 0))))
              (local.set $dst (i32.add (local.get $dst) (i32.const 4)))
              (br_if $rows (i32.lt_s (local.tee $r (i32.add (local.get $r) (i32.const 1))) (i32.const 4))))
            (br_if $steps (i32.lt_s (local.tee $p (i32.add (local.get $p) (i32.const 1))) (local.get $kc))))))
      (br_if $panels (i32.lt_s (local.tee $i (i32.add (local.get $i) (i32.const 4))) (local.get $mc)))))

  ;; $packB packs rows [p0, p0+kc) and columns [j0, j0+nc) of op(B) into
  ;; panels of 8 columns, each kc×8 floats, column q of the panel at offset
  ;; 8p+q; columns past nc are zero.
  ;;	for j := 0; j < nc; j += 8 { for p := range kc { for q := range 8 {
  ;;		dst[j*kc + 8*p + q] = j+q < nc ? opB(p0+p, j0+j+q) : 0 } } }
  ;; with opB(p, j) = b[p*ldb+j], or b[j*ldb+p] when tb = 1.
  (func $packB (param $tb i32) (param $b i32) (param $ldb i32) (param $p0 i32) (param $j0 i32)
    (param $kc i32) (param $nc i32) (param $dst i32)
    (local $j i32) (local $p i32) (local $q i32) (local $src i32) (local $end i32)
    (local.set $ldb (i32.shl (local.get $ldb) (i32.const 2)))
    (local.set $j (i32.const 0))
    (loop $panels
      (if (i32.le_s (i32.add (local.get $j) (i32.const 8)) (local.get $nc))
        (then
          (if (local.get $tb)
            (then
              ;; B is n×k: eight column streams, transposed 4×4 at a time.
              (call $packBT (local.get $ldb)
                (i32.add (local.get $b) (i32.add
                  (i32.mul (i32.add (local.get $j0) (local.get $j)) (local.get $ldb))
                  (i32.shl (local.get $p0) (i32.const 2))))
                (local.get $kc) (local.get $dst))
              (local.set $dst (i32.add (local.get $dst) (i32.shl (local.get $kc) (i32.const 5)))))
            (else
              ;; B is k×n: the 8 columns of a step are adjacent, two loads.
              (local.set $src (i32.add (local.get $b) (i32.add
                (i32.mul (local.get $p0) (local.get $ldb))
                (i32.shl (i32.add (local.get $j0) (local.get $j)) (i32.const 2)))))
              (local.set $end (i32.add (local.get $dst) (i32.shl (local.get $kc) (i32.const 5))))
              (loop $steps
                (v128.store offset=0 (local.get $dst) (v128.load offset=0 (local.get $src)))
                (v128.store offset=16 (local.get $dst) (v128.load offset=16 (local.get $src)))
                (local.set $src (i32.add (local.get $src) (local.get $ldb)))
                (br_if $steps (i32.lt_u (local.tee $dst (i32.add (local.get $dst) (i32.const 32))) (local.get $end)))))))
        (else
          ;; The last, partial panel: element by element, zero-padded.
          (local.set $p (i32.const 0))
          (loop $steps
            (local.set $q (i32.const 0))
            (loop $cols
              (f32.store (local.get $dst)
                (if (result f32) (i32.lt_s (i32.add (local.get $j) (local.get $q)) (local.get $nc))
                  (then (f32.load (call $at (local.get $tb) (local.get $b) (local.get $ldb)
                    (i32.add (local.get $p0) (local.get $p))
                    (i32.add (local.get $j0) (i32.add (local.get $j) (local.get $q))))))
                  (else (f32.const 0))))
              (local.set $dst (i32.add (local.get $dst) (i32.const 4)))
              (br_if $cols (i32.lt_s (local.tee $q (i32.add (local.get $q) (i32.const 1))) (i32.const 8))))
            (br_if $steps (i32.lt_s (local.tee $p (i32.add (local.get $p) (i32.const 1))) (local.get $kc))))))
      (br_if $panels (i32.lt_s (local.tee $j (i32.add (local.get $j) (i32.const 8))) (local.get $nc)))))

  ;; $packBT packs one full panel of a transposed B: column q of the panel is
  ;; the row at src + q·ldb (bytes), kc floats long.
  ;;	for p := range kc { for q := range 8 { dst[8*p+q] = src[q*ldb+p] } }
  (func $packBT (param $ldb i32) (param $src i32) (param $kc i32) (param $dst i32)
    (local $s4 i32) (local $end i32) (local $q i32)
    (local.set $s4 (i32.add (local.get $src) (i32.shl (local.get $ldb) (i32.const 2))))
    (local.set $end (i32.add (local.get $dst) (i32.shl (i32.and (local.get $kc) (i32.const -4)) (i32.const 5))))
    (block $done4 (loop $blocks
      (br_if $done4 (i32.ge_u (local.get $dst) (local.get $end)))
      ;; columns 0–3 of steps p..p+3, then columns 4–7, rows of 32 bytes
      (call $transpose4x (local.get $dst) (local.get $src) (local.get $ldb))
      (call $transpose4x (i32.add (local.get $dst) (i32.const 16)) (local.get $s4) (local.get $ldb))
      (local.set $src (i32.add (local.get $src) (i32.const 16)))
      (local.set $s4 (i32.add (local.get $s4) (i32.const 16)))
      (local.set $dst (i32.add (local.get $dst) (i32.const 128)))
      (br $blocks)))
    (local.set $end (i32.add (local.get $end) (i32.shl (i32.and (local.get $kc) (i32.const 3)) (i32.const 5))))
    (block $done (loop $steps
      (br_if $done (i32.ge_u (local.get $dst) (local.get $end)))
      (local.set $q (i32.const 0))
      (loop $cols
        (f32.store (i32.add (local.get $dst) (i32.shl (local.get $q) (i32.const 2)))
          (f32.load (i32.add (local.get $src) (i32.mul (local.get $q) (local.get $ldb)))))
        (br_if $cols (i32.lt_s (local.tee $q (i32.add (local.get $q) (i32.const 1))) (i32.const 8))))
      (local.set $src (i32.add (local.get $src) (i32.const 4)))
      (local.set $dst (i32.add (local.get $dst) (i32.const 32)))
      (br $steps))))

  ;; $transpose4x: $transpose4 of the rows s, s+ld, s+2ld, s+3ld (ld in
  ;; bytes) into dst, dst+32, dst+64, dst+96 (rows of a 8-wide panel).
  (func $transpose4x (param $dst i32) (param $s i32) (param $ld i32)
    (local $r0 v128) (local $r1 v128) (local $r2 v128) (local $r3 v128)
    (local $t0 v128) (local $t1 v128) (local $t2 v128) (local $t3 v128)
    (local.set $r0 (v128.load (local.get $s)))
    (local.set $r1 (v128.load (i32.add (local.get $s) (local.get $ld))))
    (local.set $r2 (v128.load (i32.add (local.get $s) (i32.shl (local.get $ld) (i32.const 1)))))
    (local.set $r3 (v128.load (i32.add (local.get $s) (i32.mul (local.get $ld) (i32.const 3)))))
    ;; t0 = r0[0] r1[0] r0[1] r1[1], t1 = r0[2] r1[2] r0[3] r1[3], t2, t3 the same of r2, r3
    (local.set $t0 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $r0) (local.get $r1)))
    (local.set $t1 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $r0) (local.get $r1)))
    (local.set $t2 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $r2) (local.get $r3)))
    (local.set $t3 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $r2) (local.get $r3)))
    (v128.store offset=0 (local.get $dst) (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t0) (local.get $t2)))
    (v128.store offset=32 (local.get $dst) (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t0) (local.get $t2)))
    (v128.store offset=64 (local.get $dst) (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t1) (local.get $t3)))
    (v128.store offset=96 (local.get $dst) (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t1) (local.get $t3))))

  ;; $transpose4 writes the 4×4 block whose rows start at s0..s3 to dst,
  ;; transposed (dst[4*q+r] = s_r[q]).
  (func $transpose4 (param $dst i32) (param $s0 i32) (param $s1 i32) (param $s2 i32) (param $s3 i32)
    (local $r0 v128) (local $r1 v128) (local $r2 v128) (local $r3 v128)
    (local $t0 v128) (local $t1 v128) (local $t2 v128) (local $t3 v128)
    (local.set $r0 (v128.load (local.get $s0)))
    (local.set $r1 (v128.load (local.get $s1)))
    (local.set $r2 (v128.load (local.get $s2)))
    (local.set $r3 (v128.load (local.get $s3)))
    (local.set $t0 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $r0) (local.get $r1)))
    (local.set $t1 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $r0) (local.get $r1)))
    (local.set $t2 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $r2) (local.get $r3)))
    (local.set $t3 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $r2) (local.get $r3)))
    (v128.store offset=0 (local.get $dst) (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t0) (local.get $t2)))
    (v128.store offset=16 (local.get $dst) (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t0) (local.get $t2)))
    (v128.store offset=32 (local.get $dst) (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t1) (local.get $t3)))
    (v128.store offset=48 (local.get $dst) (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t1) (local.get $t3))))

  ;; $at is the address of op(X)(i, j) for X at x with row stride ld bytes:
  ;; x + i·ld + 4j, or x + j·ld + 4i when t = 1.
  (func $at (param $t i32) (param $x i32) (param $ld i32) (param $i i32) (param $j i32) (result i32)
    (if (local.get $t) (then
      (local.set $i (i32.xor (local.get $i) (local.get $j)))
      (local.set $j (i32.xor (local.get $i) (local.get $j)))
      (local.set $i (i32.xor (local.get $i) (local.get $j)))))
    (i32.add (local.get $x) (i32.add (i32.mul (local.get $i) (local.get $ld)) (i32.shl (local.get $j) (i32.const 2)))))

  ;; $micro is the 4×8 tile: with a the tile's packed A panel (kc×4) and b
  ;; its packed B panel (kc×8),
  ;;	for i := range mr { for j := range nr {
  ;;		var s float32; for p := range kc { s += a[4*p+i] * b[8*p+j] }
  ;;		c[i*ldc+j] += alpha * s } }
  ;; A whole tile is added to C from registers; an edge tile (mr < 4 or
  ;; nr < 8) goes through the scratch tile.
  (func $micro (param $kc i32) (param $a i32) (param $b i32) (param $c i32) (param $ldc i32)
    (param $alpha f32) (param $mr i32) (param $nr i32) (param $tile i32)
    (local $c00 v128) (local $c01 v128) (local $c10 v128) (local $c11 v128)
    (local $c20 v128) (local $c21 v128) (local $c30 v128) (local $c31 v128)
    (local $b0 v128) (local $b1 v128) (local $x v128) (local $va v128)
    (loop $steps
      (local.set $b0 (v128.load offset=0 (local.get $b)))
      (local.set $b1 (v128.load offset=16 (local.get $b)))
      (local.set $x (v128.load32_splat offset=0 (local.get $a)))
      (local.set $c00 (f32x4.add (local.get $c00) (f32x4.mul (local.get $x) (local.get $b0))))
      (local.set $c01 (f32x4.add (local.get $c01) (f32x4.mul (local.get $x) (local.get $b1))))
      (local.set $x (v128.load32_splat offset=4 (local.get $a)))
      (local.set $c10 (f32x4.add (local.get $c10) (f32x4.mul (local.get $x) (local.get $b0))))
      (local.set $c11 (f32x4.add (local.get $c11) (f32x4.mul (local.get $x) (local.get $b1))))
      (local.set $x (v128.load32_splat offset=8 (local.get $a)))
      (local.set $c20 (f32x4.add (local.get $c20) (f32x4.mul (local.get $x) (local.get $b0))))
      (local.set $c21 (f32x4.add (local.get $c21) (f32x4.mul (local.get $x) (local.get $b1))))
      (local.set $x (v128.load32_splat offset=12 (local.get $a)))
      (local.set $c30 (f32x4.add (local.get $c30) (f32x4.mul (local.get $x) (local.get $b0))))
      (local.set $c31 (f32x4.add (local.get $c31) (f32x4.mul (local.get $x) (local.get $b1))))
      (local.set $a (i32.add (local.get $a) (i32.const 16)))
      (local.set $b (i32.add (local.get $b) (i32.const 32)))
      (br_if $steps (local.tee $kc (i32.sub (local.get $kc) (i32.const 1)))))
    (local.set $va (f32x4.splat (local.get $alpha)))
    (local.set $ldc (i32.shl (local.get $ldc) (i32.const 2)))
    (if (i32.and (i32.eq (local.get $mr) (i32.const 4)) (i32.eq (local.get $nr) (i32.const 8)))
      (then
        (call $add2 (local.get $c) (local.get $va) (local.get $c00) (local.get $c01))
        (local.set $c (i32.add (local.get $c) (local.get $ldc)))
        (call $add2 (local.get $c) (local.get $va) (local.get $c10) (local.get $c11))
        (local.set $c (i32.add (local.get $c) (local.get $ldc)))
        (call $add2 (local.get $c) (local.get $va) (local.get $c20) (local.get $c21))
        (local.set $c (i32.add (local.get $c) (local.get $ldc)))
        (call $add2 (local.get $c) (local.get $va) (local.get $c30) (local.get $c31))
        (return)))
    (v128.store offset=0 (local.get $tile) (local.get $c00))
    (v128.store offset=16 (local.get $tile) (local.get $c01))
    (v128.store offset=32 (local.get $tile) (local.get $c10))
    (v128.store offset=48 (local.get $tile) (local.get $c11))
    (v128.store offset=64 (local.get $tile) (local.get $c20))
    (v128.store offset=80 (local.get $tile) (local.get $c21))
    (v128.store offset=96 (local.get $tile) (local.get $c30))
    (v128.store offset=112 (local.get $tile) (local.get $c31))
    (call $addTile (local.get $c) (local.get $ldc) (local.get $alpha) (local.get $mr) (local.get $nr) (local.get $tile)))

  ;; $micro4 is $micro for a panel's first 4 columns (nr ≤ 4): the same
  ;; sums with half the work, for the last panel of an n that is 1 to 4 past
  ;; a multiple of 8.
  (func $micro4 (param $kc i32) (param $a i32) (param $b i32) (param $c i32) (param $ldc i32)
    (param $alpha f32) (param $mr i32) (param $nr i32) (param $tile i32)
    (local $c0 v128) (local $c1 v128) (local $c2 v128) (local $c3 v128)
    (local $b0 v128) (local $va v128)
    (loop $steps
      (local.set $b0 (v128.load (local.get $b)))
      (local.set $c0 (f32x4.add (local.get $c0) (f32x4.mul (v128.load32_splat offset=0 (local.get $a)) (local.get $b0))))
      (local.set $c1 (f32x4.add (local.get $c1) (f32x4.mul (v128.load32_splat offset=4 (local.get $a)) (local.get $b0))))
      (local.set $c2 (f32x4.add (local.get $c2) (f32x4.mul (v128.load32_splat offset=8 (local.get $a)) (local.get $b0))))
      (local.set $c3 (f32x4.add (local.get $c3) (f32x4.mul (v128.load32_splat offset=12 (local.get $a)) (local.get $b0))))
      (local.set $a (i32.add (local.get $a) (i32.const 16)))
      (local.set $b (i32.add (local.get $b) (i32.const 32)))
      (br_if $steps (local.tee $kc (i32.sub (local.get $kc) (i32.const 1)))))
    (local.set $va (f32x4.splat (local.get $alpha)))
    (local.set $ldc (i32.shl (local.get $ldc) (i32.const 2)))
    (if (i32.and (i32.eq (local.get $mr) (i32.const 4)) (i32.eq (local.get $nr) (i32.const 4)))
      (then
        (call $add1 (local.get $c) (local.get $va) (local.get $c0))
        (call $add1 (local.tee $c (i32.add (local.get $c) (local.get $ldc))) (local.get $va) (local.get $c1))
        (call $add1 (local.tee $c (i32.add (local.get $c) (local.get $ldc))) (local.get $va) (local.get $c2))
        (call $add1 (i32.add (local.get $c) (local.get $ldc)) (local.get $va) (local.get $c3))
        (return)))
    (v128.store offset=0 (local.get $tile) (local.get $c0))
    (v128.store offset=32 (local.get $tile) (local.get $c1))
    (v128.store offset=64 (local.get $tile) (local.get $c2))
    (v128.store offset=96 (local.get $tile) (local.get $c3))
    (call $addTile (local.get $c) (local.get $ldc) (local.get $alpha) (local.get $mr) (local.get $nr) (local.get $tile)))

  ;; $addTile adds alpha times the mr×nr corner of the 4×8 tile at tile to
  ;; C at c (row stride ldc bytes), element by element.
  ;;	for i := range mr { for j := range nr { c[i*ldc+j] += alpha * tile[8*i+j] } }
  (func $addTile (param $c i32) (param $ldc i32) (param $alpha f32) (param $mr i32) (param $nr i32) (param $tile i32)
    (local $i i32) (local $j i32) (local $p i32) (local $t i32)
    (loop $rows
      (local.set $p (local.get $c))
      (local.set $t (local.get $tile))
      (local.set $j (i32.const 0))
      (loop $cols
        (f32.store (local.get $p) (f32.add (f32.load (local.get $p)) (f32.mul (local.get $alpha) (f32.load (local.get $t)))))
        (local.set $p (i32.add (local.get $p) (i32.const 4)))
        (local.set $t (i32.add (local.get $t) (i32.const 4)))
        (br_if $cols (i32.lt_s (local.tee $j (i32.add (local.get $j) (i32.const 1))) (local.get $nr))))
      (local.set $c (i32.add (local.get $c) (local.get $ldc)))
      (local.set $tile (i32.add (local.get $tile) (i32.const 32)))
      (br_if $rows (i32.lt_s (local.tee $i (i32.add (local.get $i) (i32.const 1))) (local.get $mr)))))

  ;; $add1 adds va·x to the 4 floats at p.
  (func $add1 (param $p i32) (param $va v128) (param $x v128)
    (v128.store (local.get $p) (f32x4.add (v128.load (local.get $p)) (f32x4.mul (local.get $va) (local.get $x)))))

  ;; $add2 adds va·(x0, x1) to the 8 floats at p.
  (func $add2 (param $p i32) (param $va v128) (param $x0 v128) (param $x1 v128)
    (v128.store offset=0 (local.get $p)
      (f32x4.add (v128.load offset=0 (local.get $p)) (f32x4.mul (local.get $va) (local.get $x0))))
    (v128.store offset=16 (local.get $p)
      (f32x4.add (v128.load offset=16 (local.get $p)) (f32x4.mul (local.get $va) (local.get $x1)))))
)
