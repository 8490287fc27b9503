// Muon: Newton–Schulz against the quintic written by hand and its singular values (by
// a small Jacobi eigenvalue routine), and Muon's update against its equations, with the
// non-matrix and marked parameters going to AdamW.
#include <algorithm>
#include <cmath>

#include "nn/optim/optim.h"
#include "optim_test_util.h"

using namespace zoo;
using namespace zoo::optim;
using namespace zoo::optim_test;

namespace {

// ---------------------------------------------------------------------------
// Small dense matrices in plain doubles, for Muon's reference.
// ---------------------------------------------------------------------------
using Mat = std::vector<Vec>;

Mat to_mat(const Vec& v, std::size_t rows, std::size_t cols) {
  Mat m(rows, Vec(cols));
  for (std::size_t i = 0; i < rows; ++i)
    for (std::size_t j = 0; j < cols; ++j) m[i][j] = v[i * cols + j];
  return m;
}
Vec flat(const Mat& m) {
  Vec v;
  for (const Vec& row : m) v.insert(v.end(), row.begin(), row.end());
  return v;
}
Mat transpose(const Mat& a) {
  Mat t(a[0].size(), Vec(a.size()));
  for (std::size_t i = 0; i < a.size(); ++i)
    for (std::size_t j = 0; j < a[0].size(); ++j) t[j][i] = a[i][j];
  return t;
}
Mat mul(const Mat& a, const Mat& b) {
  Mat c(a.size(), Vec(b[0].size(), 0.0));
  for (std::size_t i = 0; i < a.size(); ++i)
    for (std::size_t k = 0; k < b.size(); ++k)
      for (std::size_t j = 0; j < b[0].size(); ++j) c[i][j] += a[i][k] * b[k][j];
  return c;
}
/// x·A + y·B, element-wise.
Mat axpby(double x, const Mat& a, double y, const Mat& b) {
  Mat c = a;
  for (std::size_t i = 0; i < a.size(); ++i)
    for (std::size_t j = 0; j < a[0].size(); ++j) c[i][j] = x * a[i][j] + y * b[i][j];
  return c;
}

/// Newton–Schulz by hand: X₀ = G/(‖G‖_F + 1e-7) (transposed if tall), then
/// X ← aX + (bA + cA²)X with A = XXᵀ.
Mat newton_schulz_by_hand(const Mat& g, int steps) {
  const bool tall = g.size() > g[0].size();
  Mat x = tall ? transpose(g) : g;
  double norm2 = 0;
  for (const Vec& row : x)
    for (double v : row) norm2 += v * v;
  const double scale = 1.0 / (std::sqrt(norm2) + 1e-7);
  x = axpby(scale, x, 0.0, x);
  for (int k = 0; k < steps; ++k) {
    const Mat A = mul(x, transpose(x));
    const Mat B = axpby(-4.7750, A, 2.0315, mul(A, A));
    x = axpby(3.4445, x, 1.0, mul(B, x));
  }
  return tall ? transpose(x) : x;
}

/// Eigenvalues of a small symmetric matrix by Jacobi rotations: each rotation zeroes one
/// off-diagonal pair, and the sum of squares off the diagonal shrinks to nothing.
Vec symmetric_eigenvalues(Mat a) {
  const std::size_t n = a.size();
  for (int sweep = 0; sweep < 100; ++sweep) {
    double off = 0;
    for (std::size_t p = 0; p < n; ++p)
      for (std::size_t q = p + 1; q < n; ++q) off += a[p][q] * a[p][q];
    if (off < 1e-26) break;
    for (std::size_t p = 0; p < n; ++p)
      for (std::size_t q = p + 1; q < n; ++q) {
        if (a[p][q] == 0) continue;
        const double theta = (a[q][q] - a[p][p]) / (2 * a[p][q]);
        const double t =
            (theta >= 0 ? 1.0 : -1.0) / (std::fabs(theta) + std::sqrt(theta * theta + 1));
        const double c = 1 / std::sqrt(t * t + 1), s = t * c;
        for (std::size_t k = 0; k < n; ++k) {  // A ← A J
          const double akp = a[k][p], akq = a[k][q];
          a[k][p] = c * akp - s * akq;
          a[k][q] = s * akp + c * akq;
        }
        for (std::size_t k = 0; k < n; ++k) {  // A ← Jᵀ A
          const double apk = a[p][k], aqk = a[q][k];
          a[p][k] = c * apk - s * aqk;
          a[q][k] = s * apk + c * aqk;
        }
      }
  }
  Vec eig(n);
  for (std::size_t i = 0; i < n; ++i) eig[i] = a[i][i];
  std::sort(eig.begin(), eig.end());
  return eig;
}

/// Singular values of a matrix: square roots of the eigenvalues of the smaller Gram matrix.
Vec singular_values(const Mat& m) {
  const Mat gram = m.size() <= m[0].size() ? mul(m, transpose(m)) : mul(transpose(m), m);
  Vec s = symmetric_eigenvalues(gram);
  for (double& v : s) v = std::sqrt(std::max(v, 0.0));
  return s;
}

}  // namespace

TEST_CASE("Newton-Schulz equals the quintic iteration written by hand", "[optim][muon]") {
  for (const Shape& shape : {Shape{3, 5}, Shape{6, 2}, Shape{4, 4}}) {
    const Tensor g = test::randn64(shape, 11).detach();
    const auto rows = static_cast<std::size_t>(shape[0]), cols = static_cast<std::size_t>(shape[1]);
    const Mat expected = newton_schulz_by_hand(to_mat(values(g), rows, cols), 5);
    const Tensor got = zeropower_via_newtonschulz5(g, 5);
    REQUIRE(got.shape() == shape);
    require_values(got, flat(expected), 1e-10);
  }
}

TEST_CASE("Newton-Schulz leaves singular values near 1", "[optim][muon]") {
  // First, the eigenvalue helper itself: [[2, 1], [1, 2]] has eigenvalues 1 and 3.
  const Vec e = symmetric_eigenvalues({{2, 1}, {1, 2}});
  REQUIRE(std::fabs(e[0] - 1) < 1e-12);
  REQUIRE(std::fabs(e[1] - 3) < 1e-12);

  for (const Shape& shape : {Shape{16, 8}, Shape{8, 16}, Shape{12, 10}}) {
    const Tensor g = test::randn64(shape, 5).detach();
    const auto rows = static_cast<std::size_t>(shape[0]), cols = static_cast<std::size_t>(shape[1]);
    // Before: G/‖G‖_F has singular values spread well below 1.
    const Vec before =
        singular_values(to_mat(values(zeropower_via_newtonschulz5(g, 0)), rows, cols));
    INFO("shape " << shape[0] << "x" << shape[1] << ", before: " << before.front() << " .. "
                  << before.back());
    REQUIRE(before.back() < 0.7);
    // After 5 steps: all of them in the band the quintic p(σ) = aσ + bσ³ + cσ⁵ keeps
    // them in once they get there: values below 0.68 grow, never past p's maximum on
    // (0, 1], 1.2024, and p maps [0.68, 1.21] into [0.68, 1.14].
    const Vec after =
        singular_values(to_mat(values(zeropower_via_newtonschulz5(g, 5)), rows, cols));
    INFO("after: " << after.front() << " .. " << after.back());
    REQUIRE(after.front() > 0.68);
    REQUIRE(after.back() < 1.21);
  }
}

TEST_CASE("Muon follows its update equations, and other parameters go to AdamW", "[optim][muon]") {
  const Vec w0 = {0.5, -1.0, 2.0, 0.3, -0.7, 1.2};
  Tensor tall = param(w0, {3, 2});             // Muon, transposed inside Newton–Schulz
  Tensor wide = param(w0, {2, 3});             // Muon
  Tensor bias = param({0.1, -0.2, 0.3}, {3});  // 1-D: AdamW
  Tensor embed = param(w0, {3, 2});            // 2-D but marked: AdamW
  Tensor head = param(w0, {2, 3});             // 2-D but rejected by the predicate: AdamW
  const double lr = 0.05, mu = 0.9, lambda = 0.1, adam_lr = 0.01;
  Muon opt({{"tall", tall}, {"wide", wide}, {"bias", bias}, {"embed", embed}, {"head", head}},
           MuonOptions(lr)
               .momentum(mu)
               .weight_decay(lambda)
               .adamw(AdamOptions(adam_lr).betas({0.9, 0.99}).eps(1e-8).weight_decay(0.05))
               .adamw_params({"embed"})
               .use_muon([](const std::string& name, const Tensor&) { return name != "head"; }));
  REQUIRE(opt.uses_muon(0));
  REQUIRE(opt.uses_muon(1));
  REQUIRE_FALSE(opt.uses_muon(2));
  REQUIRE_FALSE(opt.uses_muon(3));
  REQUIRE_FALSE(opt.uses_muon(4));

  // By hand. Muon: B ← μB + G; U = G + μB; W ← (1 − ηλ)W − η√max(1, M/N)·NS₅(U).
  struct MuonRef {
    Vec w, b;
    std::size_t rows, cols;
  };
  MuonRef refs[2] = {{w0, Vec(6, 0.0), 3, 2}, {w0, Vec(6, 0.0), 2, 3}};
  // AdamW (decoupled decay) for bias, embed, head.
  struct AdamRef {
    Vec w, m, v;
  };
  AdamRef adams[3] = {{{0.1, -0.2, 0.3}, Vec(3, 0.0), Vec(3, 0.0)},
                      {w0, Vec(6, 0.0), Vec(6, 0.0)},
                      {w0, Vec(6, 0.0), Vec(6, 0.0)}};
  const std::vector<Tensor> params = {tall, wide, bias, embed, head};
  for (int t = 1; t <= 3; ++t) {
    opt.zero_grad();
    quadratic_backward(params);
    opt.step();
    for (MuonRef& r : refs) {
      const Vec g = quadratic_grad(r.w);
      Vec u(6);
      for (std::size_t i = 0; i < 6; ++i) {
        r.b[i] = mu * r.b[i] + g[i];
        u[i] = g[i] + mu * r.b[i];
      }
      const Vec o = flat(newton_schulz_by_hand(to_mat(u, r.rows, r.cols), 5));
      const double scale = std::sqrt(std::max(1.0, double(r.rows) / double(r.cols)));
      for (std::size_t i = 0; i < 6; ++i) r.w[i] = (1 - lr * lambda) * r.w[i] - lr * scale * o[i];
    }
    for (AdamRef& r : adams) {
      const Vec g = quadratic_grad(r.w);
      for (std::size_t i = 0; i < r.w.size(); ++i) {
        r.w[i] *= 1 - adam_lr * 0.05;
        r.m[i] = 0.9 * r.m[i] + 0.1 * g[i];
        r.v[i] = 0.99 * r.v[i] + 0.01 * g[i] * g[i];
        const double m_hat = r.m[i] / (1 - std::pow(0.9, t));
        const double v_hat = r.v[i] / (1 - std::pow(0.99, t));
        r.w[i] -= adam_lr * m_hat / (std::sqrt(v_hat) + 1e-8);
      }
    }
    INFO("step " << t);
    require_values(tall, refs[0].w, 1e-10);
    require_values(wide, refs[1].w, 1e-10);
    require_values(bias, adams[0].w);
    require_values(embed, adams[1].w);
    require_values(head, adams[2].w);
  }
  const nn::StateDict s = opt.state_dict();
  REQUIRE(s.contains("tall.momentum_buffer"));
  REQUIRE(s.contains("bias.exp_avg"));
  REQUIRE(s.contains("embed.exp_avg_sq"));
  REQUIRE_FALSE(s.contains("embed.momentum_buffer"));
}

TEST_CASE("Muon without Nesterov uses the buffer itself", "[optim][muon]") {
  const Vec w0 = {0.5, -1.0, 2.0, 0.3, -0.7, 1.2};
  Tensor w = param(w0, {2, 3});
  Muon opt({w}, MuonOptions(0.1).momentum(0.5).nesterov(false));
  Vec wr = w0, b(6, 0.0);
  for (int t = 1; t <= 3; ++t) {
    opt.zero_grad();
    quadratic_backward({w});
    opt.step();
    const Vec g = quadratic_grad(wr);
    for (std::size_t i = 0; i < 6; ++i) b[i] = 0.5 * b[i] + g[i];
    const Vec o = flat(newton_schulz_by_hand(to_mat(b, 2, 3), 5));
    for (std::size_t i = 0; i < 6; ++i) wr[i] -= 0.1 * o[i];  // wide: scale 1
    require_values(w, wr, 1e-10);
  }
}

TEST_CASE("Muon's set_lr moves the AdamW learning rate in proportion", "[optim][muon]") {
  Tensor w = param({1, 2, 3, 4}, {2, 2}), b = param({1, 2}, {2});
  Muon opt({w, b}, MuonOptions(0.02).adamw(AdamWOptions(4e-4)));
  REQUIRE(opt.adamw_lr() == 4e-4);
  opt.set_lr(0.01);
  REQUIRE(opt.lr() == 0.01);
  REQUIRE(std::fabs(opt.adamw_lr() - 2e-4) < 1e-18);
}
