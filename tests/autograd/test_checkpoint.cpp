// Activation checkpointing: the same gradients as without it (for the inputs and for the
// weights the function captures), across chained and nested segments, several outputs,
// inputs that need no gradient, dropout (the random state is replayed); the errors; and
// the memory it saves, measured with the storage byte counters (also tested here).
#include "test_util.h"

using namespace zoo;
using Catch::Matchers::Contains;
using test::randn64;

namespace {

/// A 3-layer MLP's weights, float64 leaves that require grad.
struct Mlp {
  Tensor w1, b1, w2, b2, w3;
  std::vector<Tensor> params() const { return {w1, b1, w2, b2, w3}; }
};

/// Weights for a D → H → H → D MLP.
Mlp make_mlp(std::int64_t D, std::int64_t H, std::uint64_t seed) {
  return {randn64({D, H}, seed) * 0.5, randn64({H}, seed + 1), randn64({H, H}, seed + 2) * 0.3,
          randn64({H}, seed + 3), randn64({H, D}, seed + 4) * 0.3};
}

/// x: (B, D) → (B, D): x + tanh(tanh(x W1 + b1) W2 + b2) W3, a residual MLP block.
Tensor mlp(const Mlp& m, const Tensor& x) {
  Tensor h = tanh(matmul(x, m.w1) + m.b1);
  h = tanh(matmul(h, m.w2) + m.b2);
  return x + matmul(h, m.w3);
}

/// Makes the weights leaves again: `randn64(...) * 0.5` is an op's output, not a leaf.
Mlp leaves(Mlp m) {
  for (Tensor* t : {&m.w1, &m.b1, &m.w2, &m.b2, &m.w3}) *t = t->detach().requires_grad_();
  return m;
}

void clear_grads(const std::vector<Tensor>& ts) {
  for (const Tensor& t : ts) t.set_grad(Tensor());
}

/// The gradients of `ts`, copied (so that clearing them later keeps these).
std::vector<Tensor> grads_of(const std::vector<Tensor>& ts) {
  std::vector<Tensor> out;
  for (const Tensor& t : ts) out.push_back(t.grad().defined() ? t.grad().clone() : Tensor());
  return out;
}

/// REQUIREs equal gradients to 1e-12 (same ops in the same order: usually bit-identical).
void require_same(const std::vector<Tensor>& a, const std::vector<Tensor>& b) {
  REQUIRE(a.size() == b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    INFO("tensor " << i);
    REQUIRE(a[i].defined() == b[i].defined());
    if (a[i].defined()) test::require_close(a[i], b[i], 1e-12, 1e-12);
  }
}

}  // namespace

TEST_CASE("checkpoint gives the input and the captured weights the same gradients",
          "[checkpoint]") {
  const Mlp m = leaves(make_mlp(5, 7, 11));
  Tensor x = randn64({4, 5}, 3);
  std::vector<Tensor> all = m.params();
  all.push_back(x);

  sum(square(mlp(m, x))).backward();
  const auto expected = grads_of(all);
  clear_grads(all);

  Tensor y = autograd::checkpoint([&](const Tensor& in) { return mlp(m, in); }, x);
  REQUIRE(y.requires_grad());
  REQUIRE(y.grad_fn()->name() == "checkpoint");
  test::require_close(y, mlp(m, x), 0, 0);  // the forward is the function's
  sum(square(y)).backward();
  require_same(grads_of(all), expected);
}

TEST_CASE("chained, nested and repeated checkpointed segments", "[checkpoint]") {
  // Three blocks, the second weights used twice; between them an op outside any segment.
  const Mlp m1 = leaves(make_mlp(4, 6, 20)), m2 = leaves(make_mlp(4, 6, 30));
  Tensor x = randn64({3, 4}, 5);
  std::vector<Tensor> all = {x};
  for (const Mlp* m : {&m1, &m2})
    for (const Tensor& p : m->params()) all.push_back(p);
  auto model = [&](bool ckpt, bool nested) {
    // Captured by value: the nested checkpoint keeps `block` until its backward, after
    // this lambda has returned.
    auto block = [ckpt](const Mlp& m, const Tensor& h) {
      auto f = [&m](const Tensor& in) { return mlp(m, in); };
      return ckpt ? autograd::checkpoint(f, h) : f(h);
    };
    Tensor h = block(m1, x);
    h = sin(h) * 2.0;
    if (nested) {
      // A checkpoint whose function checkpoints again: the inner backward runs inside
      // the outer one's backward (the engine is reentrant).
      h = autograd::checkpoint([block, &m2](const Tensor& in) { return block(m2, block(m2, in)); }, h);
    } else {
      h = block(m2, block(m2, h));
    }
    return mean(square(h));
  };

  model(false, false).backward();
  const auto expected = grads_of(all);
  for (bool nested : {false, true}) {
    DYNAMIC_SECTION("nested " << nested) {
      clear_grads(all);
      model(true, nested).backward();
      require_same(grads_of(all), expected);
    }
  }
}

TEST_CASE("checkpoint with several inputs and outputs", "[checkpoint]") {
  const Mlp m = leaves(make_mlp(3, 5, 40));
  Tensor a = randn64({2, 3}, 1), b = randn64({2, 3}, 2);
  Tensor data = randn64({2, 3}, 3).detach();  // an input that needs no gradient
  std::vector<Tensor> all = m.params();
  all.insert(all.end(), {a, b});
  // Four outputs; the loss does not use the third, which gets a zero gradient; the
  // fourth is an input returned as it is.
  auto f = [&m](const std::vector<Tensor>& in) -> std::vector<Tensor> {
    Tensor u = mlp(m, in[0] * in[2]);
    return {u * in[1], exp(in[1]) + u, in[0] * 3.0, in[1]};
  };
  auto loss = [](const std::vector<Tensor>& out) {
    return sum(out[0]) + sum(square(out[1])) + sum(sin(out[3]));
  };

  loss(f({a, b, data})).backward();
  const auto expected = grads_of(all);
  clear_grads(all);

  auto out = autograd::checkpoint(f, {a, b, data});
  REQUIRE(out.size() == 4);
  for (const Tensor& o : out) REQUIRE(o.grad_fn() == out[0].grad_fn());  // one node
  REQUIRE(b.is_leaf());  // the returned input got a new handle, b itself no grad_fn
  loss(out).backward();
  require_same(grads_of(all), expected);
  REQUIRE_FALSE(data.grad().defined());
}

TEST_CASE("checkpoint records nothing when no input requires grad (as PyTorch)",
          "[checkpoint]") {
  // The weights require grad, the input does not: PyTorch's reentrant checkpoint returns
  // outputs without a graph, so the weights get no gradient. The function still runs.
  const Mlp m = leaves(make_mlp(3, 4, 50));
  Tensor x = randn64({2, 3}, 6).detach();
  Tensor y = autograd::checkpoint([&](const Tensor& in) { return mlp(m, in); }, x);
  REQUIRE_FALSE(y.requires_grad());
  Tensor expected;
  {
    NoGradGuard no_grad;
    expected = mlp(m, x);
  }
  test::require_close(y, expected, 0, 0);
  // Nor under no-grad mode, whatever the inputs.
  Tensor z = randn64({2, 3}, 7);
  NoGradGuard no_grad;
  REQUIRE_FALSE(autograd::checkpoint([&](const Tensor& in) { return mlp(m, in); }, z)
                    .requires_grad());
}

TEST_CASE("checkpoint replays dropout's random numbers (preserve_rng_state)", "[checkpoint]") {
  const Mlp m = leaves(make_mlp(6, 10, 60));
  Tensor x = randn64({8, 6}, 8);
  std::vector<Tensor> all = m.params();
  all.push_back(x);
  auto f = [&m](const Tensor& in) {
    Tensor h = dropout(tanh(matmul(in, m.w1) + m.b1), 0.5, true);
    h = dropout(tanh(matmul(h, m.w2) + m.b2), 0.3, true);
    return matmul(h, m.w3);
  };
  // Two segments, and a draw between them, outside any segment.
  auto run = [&](bool ckpt, bool preserve) {
    Tensor h = ckpt ? autograd::checkpoint(f, x, preserve) : f(x);
    h = h + randn(h.shape(), kFloat64);
    h = ckpt ? autograd::checkpoint(f, h, preserve) : f(h);
    sum(square(h)).backward();
  };

  manual_seed(1234);
  run(false, true);
  const auto expected = grads_of(all);
  const std::string state_after = default_generator().get_state();

  clear_grads(all);
  manual_seed(1234);
  run(true, true);
  require_same(grads_of(all), expected);
  // The recomputations put the generator back: it is where the plain run left it.
  REQUIRE(default_generator().get_state() == state_after);

  // Without preserving the state, the recomputation draws new masks: wrong gradients.
  clear_grads(all);
  manual_seed(1234);
  run(true, false);
  REQUIRE_FALSE(allclose(x.grad(), expected.back(), 1e-6, 1e-9));
}

TEST_CASE("checkpoint: retain_graph recomputes again; create_graph and in-place writes fail",
          "[checkpoint]") {
  const Mlp m = leaves(make_mlp(3, 4, 70));
  auto f = [&m](const Tensor& in) { return mlp(m, in); };
  Tensor x = randn64({2, 3}, 9);

  SECTION("a second backward with retain_graph doubles the gradients") {
    Tensor loss = sum(square(autograd::checkpoint(f, x)));
    loss.backward(Tensor(), /*retain_graph=*/true);
    const auto once = grads_of({x, m.w1});
    loss.backward();
    test::require_close(x.grad(), once[0] * 2.0, 1e-12, 1e-12);
    test::require_close(m.w1.grad(), once[1] * 2.0, 1e-12, 1e-12);
    REQUIRE_THROWS_WITH(loss.backward(), Contains("second time"));
  }
  SECTION("create_graph is refused") {
    Tensor loss = sum(square(autograd::checkpoint(f, x)));
    REQUIRE_THROWS_WITH(loss.backward(Tensor(), false, /*create_graph=*/true),
                        Contains("checkpoint") && Contains("create_graph"));
  }
  SECTION("an input written in place after the forward is refused") {
    Tensor loss = sum(square(autograd::checkpoint(f, x)));
    {
      NoGradGuard no_grad;
      x.add_(1.0);
    }
    REQUIRE_THROWS_WITH(loss.backward(), Contains("modified in place"));
  }
}

TEST_CASE("the storage counters follow allocations and frees", "[checkpoint][storage]") {
  const std::size_t before = storage_bytes_in_use();
  reset_storage_peak();
  REQUIRE(storage_peak_bytes() == before);
  {
    Tensor t = empty({1000}, kFloat64);
    REQUIRE(storage_bytes_in_use() == before + 8000);
    Tensor v = t.view({10, 100}).transpose(0, 1);  // a view allocates nothing
    REQUIRE(storage_bytes_in_use() == before + 8000);
    {
      Tensor u = zeros({250}, kFloat32);
      REQUIRE(storage_bytes_in_use() == before + 9000);
    }
    REQUIRE(storage_bytes_in_use() == before + 8000);
  }
  REQUIRE(storage_bytes_in_use() == before);
  REQUIRE(storage_peak_bytes() == before + 9000);
  reset_storage_peak();
  REQUIRE(storage_peak_bytes() == before);
}

TEST_CASE("a freed block of 32 MiB or more is reused for the next tensor of its size", "[storage]") {
  // Such blocks would be fresh mmap()s from glibc every time (storage.cpp says why they
  // are cached); the cache hands the same block back, and counts it like any other.
  const std::size_t before = storage_bytes_in_use();
  const void* first = nullptr;
  {
    Tensor big = empty({10 << 20}, kFloat32);  // 40 MiB
    first = big.data_ptr<float>();
    REQUIRE(storage_bytes_in_use() == before + (40u << 20));
  }
  REQUIRE(storage_bytes_in_use() == before);
  Tensor again = empty({10 << 20}, kFloat32);
  REQUIRE(static_cast<const void*>(again.data_ptr<float>()) == first);
  // Another size is not served from it; small tensors never use it.
  Tensor other = empty({11 << 20}, kFloat32);
  REQUIRE(static_cast<const void*>(other.data_ptr<float>()) != first);
  REQUIRE(storage_bytes_in_use() == before + (84u << 20));
}

TEST_CASE("checkpointing a chain of blocks lowers the peak memory of forward and backward",
          "[checkpoint][storage]") {
  // L blocks y = x + tanh(x W1) W2 on a batch of B rows, width D, hidden width H = 8D.
  // Counting in units of u = B·D·8 bytes (one (B, D) float64 tensor):
  //
  //  Without checkpoint, block l keeps for backward tanh's output h (8u; matmul saves
  //  it too, the same tensor) and passes on y (1u); x W1 (8u) and h W2 (1u) are
  //  temporaries that live until the end of the block's expression (C++ destroys
  //  temporaries at the end of the full expression). The peak comes in
  //  the last block: 7 earlier blocks' h and y, plus its own x W1, h, h W2, y:
  //      plain ≈ (L − 1)(8 + 1) + (8 + 8 + 1 + 1) = 63 + 18 = 81 u.
  //  With checkpoint, each block runs without a graph and only its output y (1u, which
  //  the next block's node saves as its input) survives it, so the peak is the 7 earlier
  //  outputs plus the last block's temporaries:
  //      ckpt ≈ (L − 1)·1 + 18 = 25 u,
  //  a ratio of 25/81 ≈ 0.31 (and L·1 = 8 u against L·9 = 72 u held when the forward
  //  ends). We require < 0.5: the margin is for temporaries of the ops we did not count.
  //  (Measured: 81 u and 25 u, 72 u and 8 u, exactly.)
  //
  //  The backward of the last block comes first and has the same temporaries T (output
  //  gradients, the weights' gradient products) in both runs. Without checkpoint all
  //  72 u are still held then; with it, the 8 u of block outputs plus the recomputed
  //  block's graph, h (8 u) and its recomputed y (1 u): 17 u. So the step's peak is
  //  72 u + T against 17 u + T (once T is large enough that the backward, not the
  //  forward, sets the peak): checkpointing saves (L − 1)·8 − 1 = 55 u of it, whatever
  //  T is. We require 90% of that. (Measured: 104 u and 49 u, so T = 32 u.)
  const std::int64_t L = 8, B = 32, D = 32, H = 8 * D;
  std::vector<Tensor> w1, w2;
  for (std::int64_t l = 0; l < L; ++l) {
    w1.push_back((randn64({D, H}, 100 + l) * 0.1).detach().requires_grad_());
    w2.push_back((randn64({H, D}, 200 + l) * 0.1).detach().requires_grad_());
  }
  Tensor x0 = randn64({B, D}, 9);
  auto block = [&](std::int64_t l) {
    return [&, l](const Tensor& x) { return x + matmul(tanh(matmul(x, w1[l])), w2[l]); };
  };

  struct Measured {
    std::size_t peak, held, step_peak;
    std::vector<Tensor> grads;
  };
  auto measure = [&](bool ckpt) {
    Measured r;
    // Gradients allocated beforehand, as from the second training step on: the backward
    // then adds into them in place, and its peak shows the activations, not 2L weights'
    // gradients (128 u here) that both runs allocate alike.
    for (const std::vector<Tensor>* ts : {&w1, &w2})
      for (const Tensor& p : *ts) p.set_grad(zeros_like(p));
    x0.set_grad(zeros_like(x0));
    const std::size_t base = storage_bytes_in_use();
    reset_storage_peak();
    Tensor h = x0;
    for (std::int64_t l = 0; l < L; ++l)
      h = ckpt ? autograd::checkpoint(block(l), h) : block(l)(h);
    Tensor loss = sum(h);
    r.peak = storage_peak_bytes() - base;  // the forward: what the graph holds, at most
    r.held = storage_bytes_in_use() - base;
    loss.backward();
    r.step_peak = storage_peak_bytes() - base;  // forward and backward
    r.grads = grads_of({x0, w1[0], w2[L - 1]});
    clear_grads(w1);
    clear_grads(w2);
    x0.set_grad(Tensor());
    return r;
  };

  const Measured plain = measure(false);
  const Measured ckpt = measure(true);
  const double u = static_cast<double>(B * D * 8);
  INFO("in units of " << u << " bytes: forward peak " << plain.peak / u << " plain, "
                      << ckpt.peak / u << " checkpointed; held after the forward "
                      << plain.held / u << " vs " << ckpt.held / u
                      << "; forward and backward peak " << plain.step_peak / u << " vs "
                      << ckpt.step_peak / u);
  REQUIRE(ckpt.peak < 0.5 * plain.peak);
  REQUIRE(ckpt.held < 0.25 * plain.held);
  const double saved = static_cast<double>(plain.step_peak) - static_cast<double>(ckpt.step_peak);
  REQUIRE(saved > 0.9 * static_cast<double>((L - 1) * 8 - 1) * u);
  require_same(ckpt.grads, plain.grads);
}
