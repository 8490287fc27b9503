/// @file image_grid.cpp
/// @brief A batch of images as one PNG grid (stb_image_write, from Debian's libstb).

#include "models/common/image_grid.h"

#include <stb/stb_image.h>
#include <stb/stb_image_write.h>

#include <algorithm>
#include <cmath>

#include "autograd/error.h"
#include "nn/io/atomic_file.h"

namespace zoo::models {

Picture image_grid(const Tensor& x, const GridOptions& o) {
  ZOO_CHECK(x.dim() == 3 || x.dim() == 4, "image_grid: expected images (N, C, H, W) or (N, H, W), got {}",
            x.shape());
  const Tensor images = (x.dim() == 3 ? x.unsqueeze(1) : x).to(kFloat32).contiguous();
  const std::int64_t N = images.size(0), C = images.size(1), H = images.size(2), W = images.size(3);
  ZOO_CHECK(N > 0, "image_grid: the batch is empty");
  ZOO_CHECK(C == 1 || C == 3, "image_grid: images must have 1 (grey) or 3 (RGB) channels, not {}", C);
  ZOO_CHECK(o.columns > 0 && o.padding >= 0, "image_grid: columns must be positive and padding not negative");
  const std::int64_t columns = std::min(o.columns, N);
  const std::int64_t rows = (N + columns - 1) / columns;
  const auto to_byte = [](float v) {
    return static_cast<std::uint8_t>(std::floor(255.0f * std::clamp(v, 0.0f, 1.0f) + 0.5f));
  };

  Picture p;
  p.width = columns * (W + o.padding) + o.padding;
  p.height = rows * (H + o.padding) + o.padding;
  p.channels = C;
  p.bytes.assign(static_cast<std::size_t>(p.width * p.height * C), to_byte(o.pad_value));
  const std::vector<float> v = images.to_vector<float>();
  for (std::int64_t n = 0; n < N; ++n) {
    // Image n's top-left pixel in the grid.
    const std::int64_t top = o.padding + (n / columns) * (H + o.padding);
    const std::int64_t left = o.padding + (n % columns) * (W + o.padding);
    for (std::int64_t c = 0; c < C; ++c)
      for (std::int64_t i = 0; i < H; ++i)
        for (std::int64_t j = 0; j < W; ++j)
          p.bytes[static_cast<std::size_t>(((top + i) * p.width + left + j) * C + c)] =
              to_byte(v[static_cast<std::size_t>(((n * C + c) * H + i) * W + j)]);
  }
  return p;
}

void save_image_grid(const std::filesystem::path& path, const Tensor& x, const GridOptions& options) {
  const Picture p = image_grid(x, options);
  std::string png;
  // stb hands the encoded bytes to this callback, piece by piece.
  const auto append = [](void* context, void* data, int size) {
    static_cast<std::string*>(context)->append(static_cast<const char*>(data), static_cast<std::size_t>(size));
  };
  const int ok = stbi_write_png_to_func(append, &png, static_cast<int>(p.width), static_cast<int>(p.height),
                                        static_cast<int>(p.channels), p.bytes.data(),
                                        static_cast<int>(p.width * p.channels));
  ZOO_CHECK(ok != 0, "save_image_grid: stb could not encode the {}x{} PNG for '{}'", p.width, p.height,
            path.string());
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path());
  nn::write_file_atomically(path, png);
}

Picture load_png(const std::filesystem::path& path) {
  int width = 0, height = 0, channels = 0;
  stbi_uc* data = stbi_load(path.string().c_str(), &width, &height, &channels, 0);
  ZOO_CHECK(data != nullptr, "load_png: cannot read '{}': {}", path.string(), stbi_failure_reason());
  Picture p{width, height, channels, {}};
  p.bytes.assign(data, data + static_cast<std::size_t>(width) * height * channels);
  stbi_image_free(data);
  return p;
}

}  // namespace zoo::models
