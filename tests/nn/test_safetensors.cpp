// safetensors: the exact bytes of small files (written out by hand from the format),
// round trips of every dtype, 0-dim, empty and non-contiguous tensors, and every kind
// of damage a reader must catch, each reported with the file's name.
#include <cmath>
#include <limits>

#include "io_test_util.h"
#include "nn/io/atomic_file.h"
#include "nn/io/safetensors.h"

using namespace zoo;
using namespace zoo::nn;
using test::TempDir;

namespace {

/// The 8-byte little-endian length of a header.
std::string length_bytes(std::uint64_t n) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((n >> (8 * i)) & 0xFF);
  return out;
}

/// A safetensors file made by hand: `header` padded with spaces to a multiple of 8,
/// its length in front, `data` behind.
std::string raw_file(std::string header, const std::string& data) {
  header.append((8 - header.size() % 8) % 8, ' ');
  return length_bytes(header.size()) + header + data;
}

/// A small dictionary with every dtype.
StateDict sample() {
  StateDict d;
  d.insert("weight", tensor({{1.5, -2.0, 3.25}, {0.0, 4.0, -0.5}}, kFloat32));
  d.insert("double", tensor({3.141592653589793, -1e-300}, kFloat64));
  d.insert("count", from_vector<std::int64_t>({std::numeric_limits<std::int64_t>::min(), -1, 0,
                                               std::numeric_limits<std::int64_t>::max()}));
  d.insert("mask", from_vector<bool>({true, false, true}));
  return d;
}

/// REQUIREs that two dictionaries hold the same names (in any order) with the same bytes.
void require_same(const StateDict& a, const StateDict& b) {
  REQUIRE(a.size() == b.size());
  for (const auto& [name, t] : a) {
    INFO("tensor " << name);
    REQUIRE(b.contains(name));
    CHECK(test::same_bytes(t, b.at(name)));
  }
}

}  // namespace

TEST_CASE("safetensors: a tiny file has exactly the bytes the format prescribes", "[safetensors]") {
  TempDir dir;
  StateDict d;
  // The bool comes first in the StateDict; the F64 is written first (larger elements first).
  d.insert("m", from_vector<bool>({true, false, true}));
  d.insert("w", tensor({0.5, -1.0}, kFloat64));
  save_safetensors(dir / "tiny.safetensors", d, {{"k", "vv"}});

  // 137 bytes of JSON + 7 spaces = 144 = 0x90; data: two doubles, then three bool bytes.
  const std::string header =
      R"({"__metadata__":{"k":"vv"},"w":{"dtype":"F64","shape":[2],"data_offsets":[0,16]},)"
      R"("m":{"dtype":"BOOL","shape":[3],"data_offsets":[16,19]}})"
      "       ";
  const std::string expected = std::string("\x90\0\0\0\0\0\0\0", 8) + header +
                               std::string("\0\0\0\0\0\0\xE0\x3F", 8) +  // 0.5
                               std::string("\0\0\0\0\0\0\xF0\xBF", 8) +  // -1.0
                               std::string("\x01\x00\x01", 3);
  CHECK(test::read_bytes(dir / "tiny.safetensors") == expected);
}

TEST_CASE("safetensors: the reference layout of one F32 tensor, and an empty file",
          "[safetensors]") {
  TempDir dir;
  StateDict d;
  d.insert("attn.0", arange(0.0, 6.0, 1.0, kFloat32).reshape({1, 2, 3}));
  save_safetensors(dir / "a.safetensors", d);
  // 64 bytes of JSON need no padding; 0, 1, 2, 3, 4, 5 as little-endian floats.
  const std::string expected =
      std::string("\x40\0\0\0\0\0\0\0", 8) +
      R"({"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}})" +
      std::string(
          "\0\0\0\0"
          "\0\0\x80\x3F"
          "\0\0\0\x40"
          "\0\0\x40\x40"
          "\0\0\x80\x40"
          "\0\0\xA0\x40",
          24);
  CHECK(test::read_bytes(dir / "a.safetensors") == expected);

  save_safetensors(dir / "empty.safetensors", StateDict());
  CHECK(test::read_bytes(dir / "empty.safetensors") ==
        std::string("\x08\0\0\0\0\0\0\0{}      ", 16));
  const SafetensorsFile loaded = load_safetensors(dir / "empty.safetensors");
  CHECK(loaded.tensors.empty());
  CHECK(loaded.metadata.empty());
}

TEST_CASE("safetensors: every dtype round-trips bit for bit", "[safetensors]") {
  TempDir dir;
  StateDict d = sample();
  const float inf = std::numeric_limits<float>::infinity();
  d.insert("special", from_vector<float>({inf, -inf, std::nanf(""), -0.0f, 1e-45f}));
  save_safetensors(dir / "all.safetensors", d);
  const SafetensorsFile loaded = load_safetensors(dir / "all.safetensors");
  require_same(d, loaded.tensors);
  for (const auto& [name, t] : loaded.tensors) CHECK_FALSE(t.requires_grad());
}

TEST_CASE("safetensors: 0-dim, empty, non-contiguous and grad-requiring tensors", "[safetensors]") {
  TempDir dir;
  StateDict d;
  d.insert("scalar", scalar_tensor(2.5, kFloat64));
  d.insert("empty", zeros({0}, kFloat32));
  d.insert("empty2d", zeros({3, 0}, kInt64));
  d.insert("empty_bool", zeros({0, 2}, kBool));
  const Tensor m = arange(0.0, 12.0, 1.0, kFloat32).reshape({3, 4});
  d.insert("transposed", m.t());                            // strides (1, 4)
  d.insert("expanded", tensor({1.0, 2.0}).expand({3, 2}));  // stride 0
  d.insert("param", test::randn64({2, 2}));                 // requires grad
  save_safetensors(dir / "odd.safetensors", d);
  const StateDict loaded = load_safetensors(dir / "odd.safetensors").tensors;
  require_same(d, loaded);
  CHECK(loaded.at("scalar").dim() == 0);
  CHECK(loaded.at("scalar").item() == 2.5);
  CHECK(loaded.at("empty2d").shape() == Shape{3, 0});
  CHECK(loaded.at("transposed").to_vector<float>() ==
        std::vector<float>{0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11});
}

TEST_CASE("safetensors: order and metadata", "[safetensors]") {
  TempDir dir;
  StateDict d;
  for (const char* name : {"z.weight", "a.bias", "m.weight"}) d.insert(name, ones({2}));
  const SafetensorsMetadata meta = {{"config", R"({"lr": 0.1, "name": "mlp"})"},
                                    {"odd", "quote \" backslash \\ newline \n tab \t"},
                                    {"unicode", "π ≈ 3.14159, naïve café"}};
  save_safetensors(dir / "o.safetensors", d, meta);
  const SafetensorsFile loaded = load_safetensors(dir / "o.safetensors");
  // Tensors of one dtype keep the StateDict's order (not sorted by name).
  std::vector<std::string> names;
  for (const auto& [name, t] : loaded.tensors) names.push_back(name);
  CHECK(names == std::vector<std::string>{"z.weight", "a.bias", "m.weight"});
  CHECK(loaded.metadata == meta);

  // Mixed dtypes: 8-byte elements first, then 4-byte, then bools; each group in order.
  save_safetensors(dir / "s.safetensors", sample());
  const StateDict mixed = load_safetensors(dir / "s.safetensors").tensors;
  names.clear();
  for (const auto& [name, t] : mixed) names.push_back(name);
  CHECK(names == std::vector<std::string>{"double", "count", "weight", "mask"});
}

TEST_CASE("safetensors: saving replaces the file atomically and leaves no temporary file",
          "[safetensors]") {
  TempDir dir;
  const auto path = dir / "model.safetensors";
  save_safetensors(path, sample());
  StateDict second;
  second.insert("only", ones({1}));
  save_safetensors(path, second);
  require_same(second, load_safetensors(path).tensors);
  std::size_t files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    INFO(entry.path().string());
    CHECK(entry.path() == path);
    ++files;
  }
  CHECK(files == 1);

  // A writer that is never committed leaves the old file as it was, and nothing else.
  const std::string before = test::read_bytes(path);
  {
    AtomicFileWriter out(path);
    out.write("half a file");
  }
  CHECK(test::read_bytes(path) == before);
  CHECK(std::distance(std::filesystem::directory_iterator(dir.path()),
                      std::filesystem::directory_iterator()) == 1);

  write_file_atomically(dir / "plain.txt", "hello");
  CHECK(test::read_bytes(dir / "plain.txt") == "hello");
}

TEST_CASE("safetensors: errors when saving name the file", "[safetensors]") {
  TempDir dir;
  const auto missing_dir = dir / "no/such/dir/model.safetensors";
  test::require_error_naming(missing_dir, [&] { save_safetensors(missing_dir, sample()); });
  StateDict bad;
  bad.insert("undefined", Tensor());
  const auto path = dir / "bad.safetensors";
  test::require_error_naming(
      path, [&] { save_safetensors(path, bad); }, "undefined");
  StateDict reserved;
  reserved.insert("__metadata__", ones({1}));
  test::require_error_naming(
      path, [&] { save_safetensors(path, reserved); }, "__metadata__");
  test::require_error_naming(
      path,
      [&] {
        save_safetensors(path, sample(), {{"k", "\xFF\xFE"}});
      },
      "UTF-8");
  CHECK_FALSE(std::filesystem::exists(path));
}

TEST_CASE("safetensors: a file truncated anywhere is an error naming it", "[safetensors]") {
  TempDir dir;
  save_safetensors(dir / "full.safetensors", sample(), {{"step", "3"}});
  const std::string bytes = test::read_bytes(dir / "full.safetensors");
  const auto path = dir / "cut.safetensors";
  for (std::size_t cut = 0; cut < bytes.size(); ++cut) {
    INFO("cut after " << cut << " of " << bytes.size() << " bytes");
    test::write_bytes(path, bytes.substr(0, cut));
    test::require_error_naming(path, [&] { load_safetensors(path); });
  }
  // The messages say what is wrong at each stage.
  test::write_bytes(path, bytes.substr(0, 5));
  test::require_error_naming(
      path, [&] { load_safetensors(path); }, "too short");
  test::write_bytes(path, bytes.substr(0, 20));
  test::require_error_naming(
      path, [&] { load_safetensors(path); }, "truncated");
  test::write_bytes(path, bytes.substr(0, bytes.size() - 1));
  test::require_error_naming(
      path, [&] { load_safetensors(path); }, "truncated");
  test::write_bytes(path, bytes + "x");
  test::require_error_naming(
      path, [&] { load_safetensors(path); }, "1 bytes follow the last tensor");
}

TEST_CASE("safetensors: a damaged header length is an error naming the file", "[safetensors]") {
  TempDir dir;
  save_safetensors(dir / "full.safetensors", sample());
  const std::string bytes = test::read_bytes(dir / "full.safetensors");
  const auto path = dir / "bad.safetensors";
  const auto with_length = [&](std::uint64_t n) {
    test::write_bytes(path, length_bytes(n) + bytes.substr(8));
  };
  with_length(std::uint64_t{1} << 40);
  test::require_error_naming(
      path, [&] { load_safetensors(path); }, "100 MB limit");
  with_length(bytes.size());
  test::require_error_naming(
      path, [&] { load_safetensors(path); }, "larger than");
  with_length(bytes.size() - 8);  // the whole rest as header: JSON followed by binary data
  test::require_error_naming(
      path, [&] { load_safetensors(path); }, "not valid JSON");
  with_length(17);  // JSON cut in the middle
  test::require_error_naming(
      path, [&] { load_safetensors(path); }, "not valid JSON");
}

TEST_CASE("safetensors: damaged headers are errors naming the file and the problem",
          "[safetensors]") {
  TempDir dir;
  const auto path = dir / "bad.safetensors";
  const std::string f32x2(8, '\0');  // two float zeros
  const auto check = [&](const std::string& header, const std::string& data,
                         const std::string& fragment) {
    INFO("header " << header);
    test::write_bytes(path, raw_file(header, data));
    test::require_error_naming(
        path, [&] { load_safetensors(path); }, fragment);
  };
  // A correct file first, so the cases below fail for their own reason only.
  test::write_bytes(path,
                    raw_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", f32x2));
  CHECK(load_safetensors(path).tensors.at("a").to_vector<float>() == std::vector<float>{0, 0});

  check(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]})", f32x2, "not valid JSON");
  check(R"(not json at all)", f32x2, "not valid JSON");
  check(R"([1, 2, 3])", f32x2, "not a JSON object");
  check(R"({"a":{"dtype":"F16","shape":[4],"data_offsets":[0,8]}})", f32x2, "\"F16\"");
  check(R"({"a":{"dtype":"Q7","shape":[2],"data_offsets":[0,8]}})", f32x2, "\"Q7\"");
  check(R"({"a":{"dtype":3,"shape":[2],"data_offsets":[0,8]}})", f32x2, "dtype");
  check(R"({"a":{"shape":[2],"data_offsets":[0,8]}})", f32x2, "dtype");
  check(R"({"a":{"dtype":"F32","data_offsets":[0,8]}})", f32x2, "shape");
  check(R"({"a":{"dtype":"F32","shape":[2]}})", f32x2, "data_offsets");
  check(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8,9]}})", f32x2, "data_offsets");
  check(R"({"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", f32x2, "non-negative");
  check(R"({"a":{"dtype":"F32","shape":[2.5],"data_offsets":[0,8]}})", f32x2, "non-negative");
  check(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", f32x2, "needs 12");
  check(R"({"a":{"dtype":"F64","shape":[2],"data_offsets":[0,8]}})", f32x2, "needs 16");
  check(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})", f32x2,
        "end before they begin");
  check(R"({"a":{"dtype":"F32","shape":[4294967296,4294967296,4],"data_offsets":[0,8]}})", f32x2,
        "overflows");
  // No element, but no tensor can have this shape: its strides overflow int64 (the
  // IDX reader's fuzzing crash, fuzz/fuzz_idx.cpp, checked here too).
  check(R"({"a":{"dtype":"F32","shape":[0,4294967296,4294967296],"data_offsets":[0,0]}})", "",
        "too large for a tensor");
  check(R"({"a":7})", f32x2, "not a JSON object");
  check(R"({"__metadata__":{"step":3},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})",
        f32x2, "not a string");
  check(R"({"__metadata__":[],"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", f32x2,
        "__metadata__");
  check(R"({"__metadata__":{"step":[1,2]},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})",
        f32x2, "not a string: a JSON array");
  check(R"({"a":{"dtype":"F32","shape":[[2]],"data_offsets":[0,8]}})", f32x2, "got a JSON array");
  // A value nested 200,000 levels deep: refused while parsing (building it recursed once
  // per level and overflowed the stack; found by fuzz/fuzz_safetensors.cpp).
  const std::string deep = std::string(200000, '[') + std::string(200000, ']');
  check(R"({"__metadata__":{"step":)" + deep + R"(},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})",
        f32x2, "more than 16 levels deep");
  check(R"({"a":{"dtype":"F32","shape":[)" + deep + R"(],"data_offsets":[0,8]}})", f32x2,
        "more than 16 levels deep");
  check(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
        R"("a":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})",
        f32x2 + f32x2, "names 'a' twice");
}

TEST_CASE("safetensors: offsets must tile the data exactly", "[safetensors]") {
  TempDir dir;
  const auto path = dir / "bad.safetensors";
  const auto check = [&](const std::string& header, std::size_t data_bytes,
                         const std::string& fragment) {
    INFO("header " << header);
    test::write_bytes(path, raw_file(header, std::string(data_bytes, '\0')));
    test::require_error_naming(
        path, [&] { load_safetensors(path); }, fragment);
  };
  const std::string a = R"("a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]})";
  check("{" + a + R"(,"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", 12, "overlap");
  check("{" + a + R"(,"b":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", 8, "overlap");
  check("{" + a + R"(,"b":{"dtype":"F32","shape":[2],"data_offsets":[12,20]}})", 20, "gap");
  check("{" + a + R"(,"b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})", 12, "past the end");
  check(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[1000,1008]}})", 8, "past the end");
  check("{" + a + "}", 9, "1 bytes follow");
  // Empty tensors take no bytes and may sit at any boundary.
  test::write_bytes(path, raw_file("{" + a +
                                       R"(,"e":{"dtype":"I64","shape":[0,3],"data_offsets":[8,8]},)"
                                       R"("f":{"dtype":"BOOL","shape":[0],"data_offsets":[0,0]}})",
                                   std::string(8, '\0')));
  const StateDict loaded = load_safetensors(path).tensors;
  CHECK(loaded.at("e").shape() == Shape{0, 3});
  CHECK(loaded.at("f").shape() == Shape{0});
  // Bools must be 0 or 1.
  check(R"({"m":{"dtype":"BOOL","shape":[3],"data_offsets":[0,3]}})", 0, "past the end");
  test::write_bytes(path, raw_file(R"({"m":{"dtype":"BOOL","shape":[3],"data_offsets":[0,3]}})",
                                   std::string("\x01\x00\x02", 3)));
  test::require_error_naming(
      path, [&] { load_safetensors(path); }, "byte 2 is 2");
}

TEST_CASE("safetensors: a missing file is an error naming it", "[safetensors]") {
  TempDir dir;
  const auto path = dir / "missing.safetensors";
  test::require_error_naming(
      path, [&] { load_safetensors(path); }, "cannot open");
}
