// Image grids: the layout (columns, padding, clipping, rounding) worked by hand on a
// tiny batch, and the PNG that stb writes reads back to the same bytes.
#include <filesystem>

#include "models/common/image_grid.h"
#include "test_util.h"

using namespace zoo;
namespace fs = std::filesystem;

TEST_CASE("image grid: three 2x2 images, two columns, padding 1", "[image_grid]") {
  // Image n holds n/4, and its bottom-right pixel is out of range (clipped).
  std::vector<float> v(12);
  for (int n = 0; n < 3; ++n)
    for (int i = 0; i < 4; ++i) v[static_cast<std::size_t>(4 * n + i)] = i < 3 ? n / 4.0f : (n == 0 ? -1.0f : 2.0f);
  const Tensor x = from_vector(v, {3, 1, 2, 2});
  models::GridOptions o;
  o.columns = 2;
  o.padding = 1;
  o.pad_value = 1.0f;
  const models::Picture p = models::image_grid(x, o);
  REQUIRE(p.width == 7);   // 1 + 2 + 1 + 2 + 1
  REQUIRE(p.height == 7);  // two rows
  REQUIRE(p.channels == 1);
  const auto at = [&](int row, int col) { return static_cast<int>(p.bytes[row * 7 + col]); };
  CHECK(at(0, 0) == 255);  // padding
  CHECK(at(1, 1) == 0);    // image 0: 0
  CHECK(at(2, 2) == 0);    // image 0: -1 clipped to 0
  CHECK(at(1, 4) == 64);   // image 1: floor(255/4 + 0.5) = 64
  CHECK(at(2, 5) == 255);  // image 1: 2 clipped to 1
  CHECK(at(4, 1) == 128);  // image 2, second row: floor(127.5 + 0.5)
  CHECK(at(4, 4) == 255);  // no image 3: padding colour
  CHECK(at(3, 3) == 255);  // padding between

  const fs::path path = fs::temp_directory_path() / "zoo-test-grid" / "grid.png";
  fs::remove_all(path.parent_path());
  models::save_image_grid(path, x, o);
  const models::Picture back = models::load_png(path);
  REQUIRE(back.width == 7);
  REQUIRE(back.height == 7);
  REQUIRE(back.channels == 1);
  REQUIRE(back.bytes == p.bytes);
}

TEST_CASE("image grid: bad shapes and files are clear errors", "[image_grid]") {
  REQUIRE_THROWS_WITH(models::image_grid(zeros({4, 4})), Catch::Matchers::Contains("(N, C, H, W)"));
  REQUIRE_THROWS_WITH(models::image_grid(zeros({2, 2, 4, 4})), Catch::Matchers::Contains("channels"));
  REQUIRE_THROWS_WITH(models::load_png("/nonexistent/x.png"), Catch::Matchers::Contains("/nonexistent/x.png"));
}
