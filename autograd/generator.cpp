#include "autograd/generator.h"

#include <cmath>
#include <numbers>
#include <sstream>

#include "autograd/error.h"

namespace zoo {

void Generator::manual_seed(std::uint64_t seed) {
  seed_ = seed;
  engine_.seed(seed);
}

double Generator::uniform() {
  // 53 random bits fill a double's mantissa exactly: values k / 2^53, k in [0, 2^53).
  return static_cast<double>(engine_() >> 11) * 0x1.0p-53;
}

double Generator::normal() {
  // 1 - u lies in (0, 1], so the logarithm is finite.
  const double u1 = 1.0 - uniform();
  const double u2 = uniform();
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
}

std::int64_t Generator::randint(std::int64_t low, std::int64_t high) {
  ZOO_CHECK(low < high, "randint: empty range [{}, {})", low, high);
  const std::uint64_t span = static_cast<std::uint64_t>(high - low);
  // Rejection sampling removes the bias of a plain modulo.
  const std::uint64_t limit = UINT64_MAX - UINT64_MAX % span;
  std::uint64_t r;
  do r = engine_();
  while (r >= limit);
  return low + static_cast<std::int64_t>(r % span);
}

std::string Generator::get_state() const {
  std::ostringstream out;
  out << seed_ << ' ' << engine_;
  return out.str();
}

void Generator::set_state(const std::string& state) {
  std::istringstream in(state);
  std::uint64_t seed;
  std::mt19937_64 engine;
  in >> seed >> engine;
  ZOO_CHECK(!in.fail(), "Generator::set_state: the state string is not a saved generator state");
  seed_ = seed;
  engine_ = engine;
}

Generator& default_generator() {
  static Generator generator;
  return generator;
}

void manual_seed(std::uint64_t seed) { default_generator().manual_seed(seed); }

}  // namespace zoo
