#pragma once
/// @file image_grid.h
/// @brief Pictures of what a model learned: a batch of images laid out as one PNG grid,
/// as torchvision's `save_image` does.
///
/// The batch x (N, C, H, W) (or (N, H, W)), C = 1 (grey) or 3 (RGB), with values in
/// [0, 1], goes into a grid of `columns` images per row, separated by `padding` pixels
/// of `pad_value`. Values outside [0, 1] are clipped; each becomes the byte
/// \f$\lfloor 255 v + 0.5 \rfloor\f$. The PNG is written with stb_image_write and replaces
/// the file atomically.

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "autograd/tensor.h"

namespace zoo::models {

/// How `save_image_grid` lays the images out.
struct GridOptions {
  std::int64_t columns = 8;  ///< images per row (fewer if the batch is smaller)
  std::int64_t padding = 2;  ///< pixels between images and around the grid
  float pad_value = 0.0f;    ///< the colour of the padding, in [0, 1]
};

/// An 8-bit picture, row-major, `channels` bytes per pixel.
struct Picture {
  std::int64_t width = 0;      ///< pixels per row
  std::int64_t height = 0;     ///< rows
  std::int64_t channels = 1;   ///< 1: grey, 3: RGB
  std::vector<std::uint8_t> bytes;  ///< height × width × channels
};

/// The grid of images `x` (N, C, H, W) or (N, H, W) with values in [0, 1], as a picture.
Picture image_grid(const Tensor& x, const GridOptions& options = {});

/// Writes `image_grid(x, options)` to `path` as PNG (atomically); an error naming the
/// file if it cannot be written.
void save_image_grid(const std::filesystem::path& path, const Tensor& x, const GridOptions& options = {});

/// The picture in a PNG file, decoded with stb_image: what tests read back. An error
/// naming the file if it is missing or not an image.
Picture load_png(const std::filesystem::path& path);

}  // namespace zoo::models
