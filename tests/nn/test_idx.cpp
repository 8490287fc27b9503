// IDX and MNIST: the fixture (200 training images plain, 100 test images gzipped, cut
// from the real files by tests/data/make_mnist_mini.py) reads with the right shapes,
// labels and pixels; plain and gzip give the same tensors; every element type decodes;
// bad magic, truncation and trailing bytes are errors naming the file.
#include <zlib.h>

#include <filesystem>

#include "io_test_util.h"
#include "nn/data/idx.h"
#include "nn/data/mnist.h"

using namespace zoo;
using namespace zoo::nn;
using test::TempDir;

namespace {

const std::filesystem::path kMini = std::filesystem::path(ZOO_TEST_DATA_DIR) / "mnist-mini";

/// How often each digit 0..9 occurs among the labels.
std::vector<std::int64_t> label_counts(const Tensor& labels) {
  std::vector<std::int64_t> counts(10, 0);
  for (std::int64_t label : labels.to_vector<std::int64_t>()) counts.at(label)++;
  return counts;
}

/// The bytes of an IDX file: 00 00 type ndims, big-endian sizes, then `payload`.
std::string idx_bytes(std::uint8_t type, const std::vector<std::uint32_t>& dims,
                      const std::string& payload) {
  std::string out = {0, 0, static_cast<char>(type), static_cast<char>(dims.size())};
  for (std::uint32_t d : dims)
    for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>(d >> shift));
  return out + payload;
}

/// Writes `bytes` gzip-compressed (any bytes, unlike `write_idx`, so a test can make a
/// gzip file whose contents are a damaged IDX file).
void gzip_file(const std::filesystem::path& path, const std::string& bytes) {
  gzFile out = gzopen(path.c_str(), "wb");
  REQUIRE(out != nullptr);
  REQUIRE(gzwrite(out, bytes.data(), static_cast<unsigned>(bytes.size())) ==
          static_cast<int>(bytes.size()));
  REQUIRE(gzclose(out) == Z_OK);
}

/// An IdxFile in memory.
IdxFile make_idx(IdxType type, Shape shape, const std::string& payload) {
  IdxFile idx;
  idx.type = type;
  idx.shape = std::move(shape);
  idx.data.assign(payload.begin(), payload.end());
  return idx;
}

}  // namespace

TEST_CASE("idx: the plain training fixture", "[idx]") {
  const IdxFile images = read_idx(kMini / "train-images-idx3-ubyte");
  CHECK(images.type == IdxType::UInt8);
  CHECK(images.shape == Shape{200, 28, 28});
  CHECK(images.data.size() == 200 * 28 * 28);

  const Tensor pixels = idx_to_tensor(images);  // int64, the raw bytes
  CHECK(pixels.dtype() == kInt64);
  CHECK(sum(pixels[0]).item() == 27525);  // the first image, a 5
  CHECK(pixels.at<std::int64_t>({0, 14, 14}) == 240);
  CHECK(sum(pixels).item() == 5070120);

  const Tensor x = idx_images_to_float(images);
  CHECK(x.shape() == Shape{200, 1, 28, 28});
  CHECK(x.dtype() == kFloat32);
  CHECK(x.at<float>({0, 0, 14, 14}) == 240.0f / 255.0f);
  CHECK(amax(x).item() == 1.0);
  CHECK(amin(x).item() == 0.0);

  const Tensor y = idx_labels(read_idx(kMini / "train-labels-idx1-ubyte"));
  CHECK(y.shape() == Shape{200});
  CHECK(y.slice(0, 0, 10).to_vector<std::int64_t>() ==
        std::vector<std::int64_t>{5, 0, 4, 1, 9, 2, 1, 3, 1, 4});
  CHECK(label_counts(y) == std::vector<std::int64_t>{21, 26, 20, 21, 21, 13, 19, 21, 15, 23});
}

TEST_CASE("idx: the gzipped test fixture", "[idx]") {
  const IdxFile images = read_idx(kMini / "t10k-images-idx3-ubyte.gz");
  CHECK(images.shape == Shape{100, 28, 28});
  CHECK(sum(idx_to_tensor(images)[0]).item() == 18454);  // the first test image, a 7
  CHECK(sum(idx_to_tensor(images)).item() == 2396707);
  const Tensor y = idx_labels(read_idx(kMini / "t10k-labels-idx1-ubyte.gz"));
  CHECK(y.slice(0, 0, 10).to_vector<std::int64_t>() ==
        std::vector<std::int64_t>{7, 2, 1, 0, 4, 1, 4, 9, 5, 9});
  CHECK(label_counts(y) == std::vector<std::int64_t>{8, 14, 8, 11, 14, 7, 10, 15, 2, 11});
}

TEST_CASE("idx: plain and gzip give identical tensors", "[idx]") {
  TempDir dir;
  for (const char* name : {"train-images-idx3-ubyte", "train-labels-idx1-ubyte"}) {
    INFO(name);
    const IdxFile plain = read_idx(kMini / name);
    write_idx(dir / (std::string(name) + ".gz"), plain, /*compress=*/true);
    const std::string packed = test::read_bytes(dir / (std::string(name) + ".gz"));
    REQUIRE(packed.substr(0, 2) == "\x1f\x8b");  // really gzip
    const IdxFile unpacked = read_idx(dir / (std::string(name) + ".gz"));
    CHECK(unpacked.shape == plain.shape);
    CHECK(unpacked.data == plain.data);
    CHECK(test::same_bytes(idx_to_tensor(unpacked), idx_to_tensor(plain)));
  }
  const IdxFile gz = read_idx(kMini / "t10k-images-idx3-ubyte.gz");
  write_idx(dir / "t10k-images-idx3-ubyte", gz);
  CHECK(test::read_bytes(dir / "t10k-images-idx3-ubyte").size() == 16 + 100 * 28 * 28);
  CHECK(read_idx(dir / "t10k-images-idx3-ubyte").data == gz.data);
}

TEST_CASE("idx: every element type decodes from big-endian", "[idx]") {
  TempDir dir;
  const auto path = dir / "t.idx";
  const auto decode = [&](std::uint8_t type, std::vector<std::uint32_t> dims,
                          const std::string& payload) {
    test::write_bytes(path, idx_bytes(type, dims, payload));
    return idx_to_tensor(read_idx(path));
  };
  CHECK(decode(0x08, {3}, std::string("\x00\x7f\xff", 3)).to_vector<std::int64_t>() ==
        std::vector<std::int64_t>{0, 127, 255});
  CHECK(decode(0x09, {3}, std::string("\x00\x7f\xff", 3)).to_vector<std::int64_t>() ==
        std::vector<std::int64_t>{0, 127, -1});
  CHECK(decode(0x0B, {2}, "\xff\xfe\x01\x2c").to_vector<std::int64_t>() ==
        std::vector<std::int64_t>{-2, 300});
  CHECK(decode(0x0C, {2}, std::string("\xff\xff\xff\xff\x00\x01\x00\x00", 8))
            .to_vector<std::int64_t>() == std::vector<std::int64_t>{-1, 65536});
  const Tensor f = decode(0x0D, {1, 2}, std::string("\x3f\xc0\x00\x00\xc1\x20\x00\x00", 8));
  CHECK(f.dtype() == kFloat32);
  CHECK(f.shape() == Shape{1, 2});
  CHECK(f.to_vector<float>() == std::vector<float>{1.5f, -10.0f});
  const Tensor d = decode(0x0E, {1}, std::string("\xc0\x00\x00\x00\x00\x00\x00\x00", 8));
  CHECK(d.dtype() == kFloat64);
  CHECK(d.item() == -2.0);
  CHECK(decode(0x08, {2, 0, 3}, "").shape() == Shape{2, 0, 3});

  // write_idx writes the same bytes, and round-trips through gzip.
  const IdxFile shorts = make_idx(IdxType::Int16, {2}, "\xff\xfe\x01\x2c");
  write_idx(dir / "s.idx", shorts);
  CHECK(test::read_bytes(dir / "s.idx") == idx_bytes(0x0B, {2}, "\xff\xfe\x01\x2c"));
  write_idx(dir / "s.idx.gz", shorts, true);
  CHECK(read_idx(dir / "s.idx.gz").data == shorts.data);
}

TEST_CASE("idx: bad magic, type and dims are errors naming the file", "[idx]") {
  TempDir dir;
  const auto path = dir / "bad-idx1-ubyte";
  const auto check = [&](const std::string& bytes, const std::string& fragment) {
    test::write_bytes(path, bytes);
    test::require_error_naming(
        path, [&] { read_idx(path); }, fragment);
  };
  check("", "too short");
  check("\x00\x00", "too short");
  check(std::string("\x01\x00\x08\x01\x00\x00\x00\x01\x05", 9), "not an IDX file");
  check(std::string("PK\x03\x04 a zip file", 16), "not an IDX file");
  check(std::string("\x00\x00\x0a\x01\x00\x00\x00\x01\x05", 9), "element type 0x0a");
  check(std::string("\x00\x00\x08\x00", 4), "0 dims");
  check(std::string("\x00\x00\x08\x09", 4), "9 dims");
  check(std::string("\x00\x00\x08\x02\x00\x00\x00\x01", 8), "truncated IDX header");
  check(std::string("\x00\x00\x08\x01\xff\xff\xff\xfe", 8), "negative size -2");
  test::require_error_naming(
      dir / "missing", [&] { read_idx(dir / "missing"); }, "cannot open");
}

TEST_CASE("idx: truncated and trailing data give both byte counts", "[idx]") {
  TempDir dir;
  const std::string good = idx_bytes(0x08, {3, 2}, "abcdef");  // 12 + 6 bytes
  const auto path = dir / "x-idx2-ubyte";
  for (std::size_t cut = 12; cut < good.size(); ++cut) {
    INFO("cut after " << cut);
    test::write_bytes(path, good.substr(0, cut));
    test::require_error_naming(
        path, [&] { read_idx(path); },
        fmt::format("announces 18 bytes in all, the file has {}", cut));
  }
  test::write_bytes(path, good + "XY");
  test::require_error_naming(
      path, [&] { read_idx(path); }, "announces 18 bytes in all, the file has 20");
}

TEST_CASE("idx: sizes no tensor can have are errors, even with no element (fuzzing)",
          "[idx]") {
  // Found by fuzz/fuzz_idx.cpp: sizes (5921113, 1493172224, 0, 151257178) hold no
  // element, so the payload (0 bytes) matched, but the tensor's contiguous strides
  // overflowed int64 (undefined behaviour).
  TempDir dir;
  const auto path = dir / "crash-idx";
  test::write_bytes(path, idx_bytes(0x09, {0x005a5959, 0x59000000, 0, 0x0904005a}, ""));
  test::require_error_naming(
      path, [&] { read_idx(path); }, "too large for a tensor");
  // Sizes whose product still fits are fine: (0, 2^31 - 1, 2^31 - 1).
  test::write_bytes(path, idx_bytes(0x08, {0, 0x7fffffff, 0x7fffffff}, ""));
  CHECK(idx_to_tensor(read_idx(path)).shape() == Shape{0, 0x7fffffff, 0x7fffffff});
}

TEST_CASE("idx: damaged gzip files are errors naming the file", "[idx]") {
  TempDir dir;
  // Decompressed, the data is checked the same way: the counts are of the decompressed bytes.
  const std::string good = idx_bytes(0x08, {3, 2}, "abcdef");
  const auto gz = dir / "x-idx2-ubyte.gz";
  gzip_file(gz, good + "XY");
  test::require_error_naming(
      gz, [&] { read_idx(gz); }, "announces 18 bytes in all, the decompressed file has 20");
  gzip_file(gz, good.substr(0, 15));
  test::require_error_naming(
      gz, [&] { read_idx(gz); }, "announces 18 bytes in all, the decompressed file has 15");
  gzip_file(gz, good);
  CHECK(read_idx(gz).data.size() == 6);

  // A gzip stream cut short: zlib's complaint and the file's name.
  write_idx(gz, read_idx(kMini / "t10k-labels-idx1-ubyte.gz"), /*compress=*/true);
  const std::string packed = test::read_bytes(gz);
  const auto cut_path = dir / "cut-idx1-ubyte.gz";
  for (std::size_t cut : {std::size_t{3}, std::size_t{10}, packed.size() / 2, packed.size() - 4}) {
    INFO("cut after " << cut << " of " << packed.size());
    test::write_bytes(cut_path, packed.substr(0, cut));
    test::require_error_naming(cut_path, [&] { read_idx(cut_path); });
  }
}

TEST_CASE("mnist: load_mnist reads both splits of the fixture", "[mnist]") {
  const MnistData train = load_mnist(kMini, /*train=*/true, /*expected_count=*/200);
  CHECK(train.images.shape() == Shape{200, 1, 28, 28});
  CHECK(train.labels.shape() == Shape{200});
  CHECK(train.labels.dtype() == kInt64);
  CHECK(label_counts(train.labels) ==
        std::vector<std::int64_t>{21, 26, 20, 21, 21, 13, 19, 21, 15, 23});
  const MnistData test_split = load_mnist(kMini, /*train=*/false, /*expected_count=*/0);
  CHECK(test_split.images.shape() == Shape{100, 1, 28, 28});
  CHECK(test_split.labels.at<std::int64_t>({0}) == 7);
}

TEST_CASE("mnist: wrong counts, missing files and bad labels are clear errors", "[mnist]") {
  // The fixture is not the full data set: the default count check says so.
  test::require_error_naming(
      kMini / "train-images-idx3-ubyte", [&] { load_mnist(kMini); }, "expected 60000 images");
  test::require_error_naming(
      kMini / "t10k-images-idx3-ubyte.gz", [&] { load_mnist(kMini, false); },
      "expected 10000 images");

  TempDir dir;
  test::require_error_naming(
      dir.path(), [&] { load_mnist(dir.path()); }, "data/fetch_mnist.sh");
  test::require_error_naming(
      dir / "nowhere", [&] { load_mnist(dir / "nowhere"); }, "train-images-idx3-ubyte");

  // Images without labels, labels that do not match, labels outside 0..9.
  write_idx(dir / "train-images-idx3-ubyte",
            make_idx(IdxType::UInt8, {2, 28, 28}, std::string(2 * 784, '\0')));
  test::require_error_naming(
      dir.path(), [&] { load_mnist(dir.path(), true, 0); }, "train-labels-idx1-ubyte");
  write_idx(dir / "train-labels-idx1-ubyte", make_idx(IdxType::UInt8, {3}, "\x01\x02\x03"));
  test::require_error_naming(
      dir / "train-labels-idx1-ubyte", [&] { load_mnist(dir.path(), true, 0); }, "3 labels");
  write_idx(dir / "train-labels-idx1-ubyte", make_idx(IdxType::UInt8, {2}, "\x01\x0a"));
  test::require_error_naming(
      dir / "train-labels-idx1-ubyte", [&] { load_mnist(dir.path(), true, 0); },
      "label 10 of example 1");
  write_idx(dir / "train-labels-idx1-ubyte", make_idx(IdxType::UInt8, {2}, "\x01\x09"));
  CHECK(load_mnist(dir.path(), true, 0).labels.to_vector<std::int64_t>() ==
        std::vector<std::int64_t>{1, 9});
  write_idx(dir / "train-images-idx3-ubyte",
            make_idx(IdxType::UInt8, {2, 14, 56}, std::string(2 * 784, '\0')));
  test::require_error_naming(
      dir / "train-images-idx3-ubyte", [&] { load_mnist(dir.path(), true, 0); }, "14x56");
}

// The real data sets, when data/fetch_mnist.sh has been run. Hidden (tag [.]), because
// tests never depend on downloads: run with `test_nn "[real-data]"`.
TEST_CASE("mnist: the real MNIST and Fashion-MNIST files", "[.][real-data]") {
  const auto data = std::filesystem::path(ZOO_TEST_DATA_DIR) / ".." / ".." / "data";
  if (std::filesystem::exists(data / "mnist")) {
    const MnistData train = load_mnist(data / "mnist");
    CHECK(label_counts(train.labels) ==
          std::vector<std::int64_t>{5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949});
    CHECK(load_mnist(data / "mnist", false).labels.size(0) == 10000);
  } else {
    WARN("no data/mnist: run data/fetch_mnist.sh");
  }
  if (std::filesystem::exists(data / "fashion-mnist")) {
    const MnistData train = load_mnist(data / "fashion-mnist");
    CHECK(label_counts(train.labels) == std::vector<std::int64_t>(10, 6000));  // balanced classes
    CHECK(load_mnist(data / "fashion-mnist", false).labels.size(0) == 10000);
  } else {
    WARN("no data/fashion-mnist: run data/fetch_mnist.sh --fashion");
  }
}

TEST_CASE("mnist: balanced_examples draws as many of each digit, at random", "[mnist]") {
  const MnistData train = load_mnist(kMini, /*train=*/true, /*expected_count=*/200);
  Generator a(5), b(5), c(6);
  const MnistData first = balanced_examples(train, 3, a);
  REQUIRE(first.images.shape() == Shape{30, 1, 28, 28});
  const std::vector<std::int64_t> labels = first.labels.to_vector<std::int64_t>();
  for (std::int64_t i = 0; i < 30; ++i) CHECK(labels[static_cast<std::size_t>(i)] == i / 3);  // grouped by digit
  // Each image is one of the split's, with its own label.
  const std::vector<float> all = train.images.reshape({200, 784}).to_vector<float>();
  const std::vector<std::int64_t> all_labels = train.labels.to_vector<std::int64_t>();
  const std::vector<float> picked = first.images.reshape({30, 784}).to_vector<float>();
  for (std::size_t i = 0; i < 30; ++i) {
    bool found = false;
    for (std::size_t j = 0; j < 200 && !found; ++j)
      found = all_labels[j] == labels[i] &&
              std::equal(picked.begin() + 784 * i, picked.begin() + 784 * (i + 1), all.begin() + 784 * j);
    CHECK(found);
  }
  CHECK(balanced_examples(train, 3, b).images.to_vector<float>() == picked);  // the same seed, the same draw
  CHECK(balanced_examples(train, 3, c).images.to_vector<float>() != picked);  // another seed, another draw
  REQUIRE_THROWS_WITH(balanced_examples(train, 14, a), Catch::Matchers::Contains("14 examples of digit 5"));  // 13 fives
}
