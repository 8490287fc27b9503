/// @file checkpoint.cpp
/// @brief `checkpoint`: forward without a graph, and a backward that recomputes the
/// forward with a graph and backpropagates through it (see checkpoint.h for the maths).

#include "autograd/checkpoint.h"

#include <optional>
#include <string>

#include "autograd/engine.h"
#include "autograd/error.h"
#include "autograd/generator.h"
#include "autograd/grad_mode.h"
#include "autograd/node.h"

namespace zoo::autograd {
namespace {

/// Sets the default generator to `state` for the life of the guard, then puts back the
/// state it had before, also when the recomputation throws.
class GeneratorStateGuard {
 public:
  explicit GeneratorStateGuard(const std::string& state)
      : previous_(default_generator().get_state()) {
    default_generator().set_state(state);
  }
  ~GeneratorStateGuard() { default_generator().set_state(previous_); }
  GeneratorStateGuard(const GeneratorStateGuard&) = delete;
  GeneratorStateGuard& operator=(const GeneratorStateGuard&) = delete;

 private:
  std::string previous_;
};

/// Runs `fn` and checks that every output is defined (the node needs each one's shape).
std::vector<Tensor> run(const CheckpointFunction& fn, const std::vector<Tensor>& inputs) {
  std::vector<Tensor> outputs = fn(inputs);
  for (std::size_t i = 0; i < outputs.size(); ++i)
    ZOO_CHECK(outputs[i].defined(), "checkpoint: output {} of the function is undefined", i);
  return outputs;
}

}  // namespace

std::vector<Tensor> checkpoint(const CheckpointFunction& fn, const std::vector<Tensor>& inputs,
                               bool preserve_rng_state) {
  // PyTorch's rule: record only if some input requires grad (and grad mode is on).
  const bool record = any_requires_grad(inputs);
  std::optional<std::string> rng_state;
  if (record && preserve_rng_state) rng_state = default_generator().get_state();

  std::vector<Tensor> outputs;
  {
    NoGradGuard no_grad;  // no graph: every intermediate dies when its last reader is done
    outputs = run(fn, inputs);
  }
  if (!record) return outputs;

  // New handles on the outputs' data, so that recording never writes a grad_fn into a
  // tensor fn returned as it was (an input, or a weight it captured).
  for (Tensor& out : outputs) out = out.detach();

  std::vector<SavedTensor> saved;
  std::vector<bool> input_defined, input_requires_grad;
  saved.reserve(inputs.size());
  for (const Tensor& in : inputs) {
    saved.push_back(in.defined() ? SavedTensor::input(in) : SavedTensor());
    input_defined.push_back(in.defined());
    input_requires_grad.push_back(in.defined() && in.requires_grad());
  }
  std::vector<Shape> output_shapes;
  for (const Tensor& out : outputs) output_shapes.push_back(out.shape());

  record_multi(
      "checkpoint", inputs, outputs,
      [fn, saved = std::move(saved), input_defined = std::move(input_defined),
       input_requires_grad = std::move(input_requires_grad),
       output_shapes = std::move(output_shapes),
       rng_state = std::move(rng_state)](const Grads& grads, const std::vector<bool>&) {
        // The engine runs backward with grad mode on only for create_graph; the gradients
        // below are computed by a separate backward and have no graph back to the inputs.
        ZOO_CHECK(!GradMode::is_enabled(),
                  "checkpoint does not support create_graph (higher-order gradients through a "
                  "checkpointed function); call the function without checkpoint for that");

        // 1. Detached copies of the inputs: the recomputed graph ends at them, so its
        //    backward stops there instead of running on into the graph before the block.
        std::vector<Tensor> detached(saved.size());
        for (std::size_t i = 0; i < saved.size(); ++i) {
          if (!input_defined[i]) continue;  // an undefined input stays undefined
          detached[i] = saved[i].get().detach();
          if (input_requires_grad[i]) detached[i].requires_grad_();
        }

        // 2. The forward again, this time recording, from the forward's random state.
        std::vector<Tensor> recomputed;
        {
          std::optional<GeneratorStateGuard> rng;
          if (rng_state) rng.emplace(*rng_state);
          GradModeGuard grad_on(true);
          recomputed = run(fn, detached);
        }
        ZOO_CHECK(recomputed.size() == output_shapes.size(),
                  "checkpoint: the function returned {} outputs when recomputed in backward, {} "
                  "in the forward; it must compute the same thing each time",
                  recomputed.size(), output_shapes.size());
        for (std::size_t i = 0; i < recomputed.size(); ++i)
          ZOO_CHECK(recomputed[i].shape() == output_shapes[i],
                    "checkpoint: output {} has shape {} when recomputed in backward, {} in the "
                    "forward; the function must compute the same thing each time",
                    i, recomputed[i].shape(), output_shapes[i]);

        // 3. Backpropagate the output gradients through the recomputed graph. This also
        //    accumulates into the .grad of the weights fn captured. Outputs that do not
        //    depend on anything requiring grad have no graph and are left out.
        std::vector<Tensor> roots, root_grads;
        for (std::size_t i = 0; i < recomputed.size(); ++i)
          if (recomputed[i].requires_grad()) {
            roots.push_back(recomputed[i]);
            root_grads.push_back(grads[i]);
          }
        if (!roots.empty()) backward(roots, root_grads);

        // 4. The detached inputs' gradients are the inputs' gradients (undefined for an
        //    input the outputs do not depend on).
        Grads input_grads(detached.size());
        for (std::size_t i = 0; i < detached.size(); ++i)
          if (input_requires_grad[i]) input_grads[i] = detached[i].grad();
        return input_grads;
      });
  return outputs;
}

Tensor checkpoint(const std::function<Tensor(const Tensor&)>& fn, const Tensor& input,
                  bool preserve_rng_state) {
  return checkpoint(
      [fn](const std::vector<Tensor>& in) { return std::vector<Tensor>{fn(in[0])}; }, {input},
      preserve_rng_state)[0];
}

}  // namespace zoo::autograd
