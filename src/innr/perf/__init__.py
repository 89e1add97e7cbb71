"""The speed layer: the INNR fit's full-batch step without autograd.

    from innr.perf import SirenStep
    step = SirenStep(siren, opt, coords, targets, build="compiled")
    loss = step()  # one optimizer step on the MSE; the loss stays a device tensor (no sync)

Fitting the INNR is thousands of full-batch steps of a SIREN over every weight of the CNN, most
of a reproduction's time. The science states the step as autograd computes it
(`innr.steps.AutogradStep`, the reference); this layer computes the same gradient faster and is
tested against that reference (tests/test_perf.py, tests/test_native.py). It is one of the step
backends of innr.steps, which imports it where a fit runs (and innr.bench measures it); it
imports nothing of the package when it runs (the SIREN's class only for type hints).

How (step.py): the coordinates are cut into equal chunks (the padding masked out of the loss);
`chunk_grads` writes a chunk's forward and backward out by hand (each layer keeps its sin and
w0 cos; the backward is mul, sum, mm, mm per layer), so no autograd graph is built; the chunks
run on a pool of threads with one intra-op thread each, and their results are summed in chunk
order, so a step repeats bit for bit. A chunk is computed by one of these builds:

- "eager": `chunk_grads` with torch's ops;
- "inductor": `chunk_grads` traced once and compiled by inductor into one C++ call that releases
  the GIL, sin and cos from one range reduction (`sincos`, a polynomial) fused with the bias add;
- "native" (native.py): the same function hand-written in C++ for AVX-512 CPUs
  (csrc/siren_chunk.cpp): rows in blocks that stay in the core's L2 cache, each product in
  register tiles, with the bias, sin and cos, and in the backward the cos factor and the bias
  gradient, applied to a tile before it is stored, so activations do not stream through memory
  between a matmul and its elementwise work;
- "compiled": "native" where it can run (an AVX-512 CPU, a C++ compiler, a width-64 SIREN with
  one output), else "inductor", else "eager", each fallback with a warning.

Builds round differently (sum order, polynomial sin/cos, fused multiply-adds), so a fit's digits
depend on the build, and the build on the CPU: results record which build ran. On a GPU one
chunk is the whole batch and the "native" build does not apply.

`python -m innr.bench` measures each build against the machine's matmul rate and the
autograd step, and where the time goes; its numbers are in its output, not here.
"""

from innr.perf.step import BUILDS, RowChunks, SirenStep, chunk_grads, chunk_params, compile_chunk

__all__ = ["BUILDS", "RowChunks", "SirenStep", "chunk_grads", "chunk_params", "compile_chunk"]
