#pragma once
/// @file checkpoint.h
/// @brief Activation (gradient) checkpointing: `checkpoint(fn, inputs)` keeps only the
/// inputs of `fn` for backward and recomputes its intermediates when they are needed,
/// like PyTorch's `torch.utils.checkpoint.checkpoint(fn, *inputs, use_reentrant=True)`.
///
/// ## The memory trade
///
/// Backpropagation through \f$y = f_L \circ \dots \circ f_1(x)\f$ needs, for each block
/// \f$f_\ell\f$, the tensors its ops saved in the forward pass (the input of a matmul,
/// the output of a tanh, ...). If block \f$\ell\f$ saves \f$A\f$ bytes of such
/// activations and passes on a tensor of \f$b\f$ bytes, the graph holds
/// \f[ M_\text{plain} = L\,A \f]
/// when the forward pass ends. Under `checkpoint` a block runs in no-grad mode, so its
/// intermediates die as soon as the next op has read them; the graph keeps only the
/// block's input. Backward then re-runs one block at a time with grad mode on and
/// backpropagates through that fresh little graph, which is freed before the next
/// block's recomputation, so at most
/// \f[ M_\text{ckpt} = L\,b + A \f]
/// bytes are held at once: \f$O(L)\f$ block boundaries plus the activations of *one*
/// block, instead of \f$O(L \cdot A)\f$. In a transformer \f$A\f$ is many times \f$b\f$
/// (the attention matrix, the MLP's 4× wider hidden layer, the norms' inputs), so the
/// saving is most of the activation memory. The price is one extra forward pass per
/// checkpointed block: backward costs about two forwards, so a training step goes
/// from about 3 to about 4 forward-equivalents, roughly a third more compute.
/// (Checkpointing segments of \f$\sqrt{L}\f$ blocks instead of single blocks gives
/// \f$O(\sqrt{L})\f$ memory for the same one extra forward: Chen et al., 2016,
/// "Training deep nets with sublinear memory cost".)
///
/// `storage_bytes_in_use()` and `storage_peak_bytes()` (autograd/storage.h) measure
/// both numbers; tests/autograd/test_checkpoint.cpp compares them on a chain of blocks.

#include <functional>
#include <vector>

#include "autograd/tensor.h"

namespace zoo::autograd {

/// A function checkpointed by `checkpoint`: tensors in, tensors out. It may use tensors
/// it captures (a module's weights) besides its inputs, and must compute the same
/// thing each time it is called on the same inputs (given the same random state).
using CheckpointFunction = std::function<std::vector<Tensor>(const std::vector<Tensor>&)>;

/// Runs `fn(inputs)` without recording a graph (so none of its intermediates are kept),
/// and records one node, named "checkpoint", whose backward
///   1. makes detached copies of the saved inputs (requiring grad where the input did),
///   2. re-runs `fn` on them with grad mode on, from the random state of the forward,
///   3. backpropagates the incoming output gradients through that recomputed graph,
///      with `backward()`, and
///   4. hands the gradients of the detached copies on to the inputs' own graph.
///
/// Step 3 is an ordinary `backward()`, so the parameters `fn` captures (module weights)
/// get their `.grad` accumulated there, as in PyTorch; they are not edges of the outer
/// graph. The node frees the saved inputs after the backward (unless `retain_graph`),
/// and refuses them if they were modified in place since the forward, like any op.
///
/// Which outputs require grad: the node is recorded, and every floating output requires
/// grad, when grad mode is on and at least one of `inputs` requires grad. That is
/// PyTorch's rule for its reentrant checkpoint, and a transformer block's input (the
/// residual stream) always requires grad in training. If **no input requires grad**
/// (or grad mode is off), `fn`'s outputs are returned as computed, without any graph:
/// then the weights `fn` uses get **no gradient** (PyTorch warns about this case; here,
/// know it). Pass an input that requires grad, or call `fn` without checkpointing.
///
/// Random numbers: with `preserve_rng_state`, the state of `default_generator()` is
/// saved before the forward, restored for the recomputation (so dropout draws the same
/// masks and the recomputed graph is the one the forward computed), and put back
/// afterwards, so the backward leaves the generator exactly where it was. Only the
/// default generator is preserved: a `Dropout` given a generator of its own would draw
/// new masks in the recomputation, and its gradients would be wrong. Without
/// `preserve_rng_state` the recomputation draws fresh numbers (use it only when `fn`
/// draws none; it saves copying the generator's state).
///
/// Limits, as PyTorch's reentrant checkpoint: the gradients it returns have no graph,
/// so a backward with `create_graph` (higher-order derivatives) through it is an error;
/// and it is meant for `backward()`: under `autograd::grad` it gives the right
/// gradients for tensors upstream of the checkpoint, but it also adds to the `.grad` of
/// the weights `fn` uses, and cannot return those weights' gradients (they are not in
/// the outer graph; PyTorch refuses `torch.autograd.grad` through it altogether). A
/// backward with `retain_graph` keeps the saved inputs, and a second backward
/// recomputes again.
///
/// Errors: an undefined output of `fn`, or a recomputation that returns a different
/// number of outputs or different shapes than the forward.
///
/// Example, a stack of blocks that keeps only each block's input:
/// \code
///   for (auto& block : blocks)
///     h = autograd::checkpoint([&](const Tensor& x) { return block->forward(x); }, h);
/// \endcode
std::vector<Tensor> checkpoint(const CheckpointFunction& fn, const std::vector<Tensor>& inputs,
                               bool preserve_rng_state = true);

/// The one-input, one-output form of `checkpoint`: `checkpoint(fn, {input})[0]`.
Tensor checkpoint(const std::function<Tensor(const Tensor&)>& fn, const Tensor& input,
                  bool preserve_rng_state = true);

}  // namespace zoo::autograd
