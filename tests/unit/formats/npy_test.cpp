// .npy reader and writer: versions 1-3, f2/f4/f8, each refused layout with its message, every
// truncation, lying header lengths, and a write -> read round trip.
#include "embstat/formats/npy.hpp"

#include <gtest/gtest.h>

#include <cstring>

#include "embstat/base/error.hpp"
#include "embstat/base/mapped_file.hpp"
#include "tests/fixtures/expect_error.hpp"
#include "tests/fixtures/npy_builder.hpp"
#include "tests/fixtures/safetensors_builder.hpp"

namespace embstat {
namespace {

using fixtures::contains;
using fixtures::expect_error;
using fixtures::NpySpec;

NpyHeader parse(const std::vector<std::uint8_t>& bytes) {
  return parse_npy_header(bytes, "mem.npy");
}

NpySpec f32_spec(int major = 1) {
  NpySpec s;
  s.major = major;
  s.data = fixtures::f32_data(fixtures::ramp_matrix(2, 3));
  return s;
}

TEST(Npy, VersionsOneTwoThree) {
  for (int major : {1, 2, 3}) {
    SCOPED_TRACE(major);
    const auto bytes = fixtures::build_npy(f32_spec(major));
    const auto h = parse(bytes);
    EXPECT_EQ(h.major, major);
    EXPECT_EQ(h.dtype, DType::F32);
    EXPECT_EQ(h.shape, (std::vector<std::int64_t>{2, 3}));
    EXPECT_EQ(h.data_offset % 64, 0u);
    EXPECT_EQ(h.data_bytes, 24u);
  }
}

TEST(Npy, FloatKindsAndByteOrderMarks) {
  NpySpec s;
  s.descr = "<f2";
  s.data = fixtures::f16_data({1, 2, 3, 4, 5, 6});
  EXPECT_EQ(parse(fixtures::build_npy(s)).dtype, DType::F16);
  s.descr = "<f8";
  s.data = fixtures::f64_data({1, 2, 3, 4, 5, 6});
  EXPECT_EQ(parse(fixtures::build_npy(s)).dtype, DType::F64);
  s.descr = "=f8";
  EXPECT_EQ(parse(fixtures::build_npy(s)).dtype, DType::F64);
  // Python 2 era spelling: double quotes, long literals, no trailing comma.
  s.dict = "{\"descr\": \"<f8\", \"fortran_order\": False, \"shape\": (2L, 3L)}";
  EXPECT_EQ(parse(fixtures::build_npy(s)).shape, (std::vector<std::int64_t>{2, 3}));
}

TEST(Npy, OpenReadsRows) {
  fixtures::TempDir dir("npy-open");
  NpySpec s;
  s.descr = "<f8";
  s.data = fixtures::f64_data({1.5, 2, 3, 4, 5, -6.25});
  fixtures::write_file(dir / "x.npy", fixtures::build_npy(s));
  const Model m = open_npy(dir / "x.npy", {});
  EXPECT_EQ(m.format, "npy");
  EXPECT_EQ(m.name, "x.npy");
  EXPECT_EQ(m.tensor->name, "array");
  const Matrix f = decode_to_f32(m.matrix);
  EXPECT_EQ(f.row(0)[0], 1.5f);
  EXPECT_EQ(f.row(1)[2], -6.25f);
  OpenOptions o;
  o.tensor = "other";
  expect_error([&] { open_npy(dir / "x.npy", o); }, ErrorKind::Usage);
}

TEST(Npy, FortranOrderIsRefused) {
  NpySpec s = f32_spec();
  s.fortran_order = true;
  auto e = expect_error([&] { parse(fixtures::build_npy(s)); }, ErrorKind::Unsupported);
  EXPECT_TRUE(contains(e.message(), "Fortran"));
}

// Every refusal of a header field names the field's place: the offset points at its value.
TEST(Npy, RefusedFieldsGiveTheOffsetOfTheirValue) {
  const auto expect_at = [](const NpySpec& spec, const std::string& value_text) {
    const auto bytes = fixtures::build_npy(spec);
    const Error e = expect_error([&] { parse(bytes); }, ErrorKind::Unsupported);
    ASSERT_TRUE(e.offset().has_value()) << e.what();
    ASSERT_LE(*e.offset() + value_text.size(), bytes.size()) << e.what();
    EXPECT_EQ(std::string(bytes.begin() + static_cast<std::ptrdiff_t>(*e.offset()),
                          bytes.begin() + static_cast<std::ptrdiff_t>(*e.offset() + value_text.size())),
              value_text)
        << e.what();
  };
  NpySpec fortran = f32_spec();
  fortran.fortran_order = true;
  expect_at(fortran, "True");
  for (const char* descr : {">f4", "<i4"}) {
    NpySpec s = f32_spec();
    s.descr = descr;
    expect_at(s, std::string("'") + descr + "'");
  }
  NpySpec structured = f32_spec();
  structured.dict = "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2, 3), }";
  expect_at(structured, "[('a'");
  NpySpec three_d = f32_spec();
  three_d.shape = "(1, 2, 3)";
  expect_at(three_d, "(1, 2, 3)");
  NpySpec version = f32_spec();
  version.major = 4;
  expect_at(version, "\x04");
}

TEST(Npy, BigEndianIsRefused) {
  NpySpec s = f32_spec();
  s.descr = ">f4";
  auto e = expect_error([&] { parse(fixtures::build_npy(s)); }, ErrorKind::Unsupported);
  EXPECT_TRUE(contains(e.message(), "big-endian"));
}

TEST(Npy, OtherDtypesAreRefused) {
  for (const char* descr : {"<i4", "|u1", "<c8", "|b1", "<U10", "|O"}) {
    SCOPED_TRACE(descr);
    NpySpec s = f32_spec();
    s.descr = descr;
    expect_error([&] { parse(fixtures::build_npy(s)); }, ErrorKind::Unsupported);
  }
  NpySpec structured = f32_spec();
  structured.dict = "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2, 3), }";
  expect_error([&] { parse(fixtures::build_npy(structured)); }, ErrorKind::Unsupported);
}

TEST(Npy, OnlyTwoDimensions) {
  for (const char* shape : {"(6,)", "(1, 2, 3)", "()"}) {
    SCOPED_TRACE(shape);
    NpySpec s = f32_spec();
    s.shape = shape;
    if (std::string(shape) == "()") s.data.resize(4);
    auto e = expect_error([&] { parse(fixtures::build_npy(s)); }, ErrorKind::Unsupported);
    EXPECT_TRUE(contains(e.message(), "2-D"));
  }
}

TEST(Npy, EveryTruncationIsAnError) {
  const auto bytes = fixtures::build_npy(f32_spec());
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    SCOPED_TRACE(n);
    expect_error([&] { parse({bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(n)}); }, ErrorKind::Format);
  }
}

TEST(Npy, TrailingDataIsAnError) {
  NpySpec s = f32_spec();
  s.data.push_back(0);
  auto e = expect_error([&] { parse(fixtures::build_npy(s)); }, ErrorKind::Format);
  EXPECT_TRUE(contains(e.message(), "trailing"));
}

TEST(Npy, LyingHeaderLengths) {
  NpySpec s = f32_spec(2);
  s.header_len = 0xffffffffu;
  expect_error([&] { parse(fixtures::build_npy(s)); }, ErrorKind::Format);
  s.header_len = 1000;  // under the cap, past the end
  expect_error([&] { parse(fixtures::build_npy(s)); }, ErrorKind::Format);
  NpySpec v1 = f32_spec(1);
  v1.header_len = 10;  // cuts the dict short
  expect_error([&] { parse(fixtures::build_npy(v1)); }, ErrorKind::Format);
}

TEST(Npy, HugeShapesDoNotOverflow) {
  for (const char* shape :
       {"(4611686018427387904, 4611686018427387904)", "(99999999999999999999999, 1)", "(4294967296, 4294967296)"}) {
    SCOPED_TRACE(shape);
    NpySpec s = f32_spec();
    s.shape = shape;
    expect_error([&] { parse(fixtures::build_npy(s)); }, ErrorKind::Format);
  }
}

TEST(Npy, MalformedDicts) {
  for (const char* dict :
       {"{'descr': '<f4', 'fortran_order': False}", "{'descr': '<f4', 'fortran_order': Maybe, 'shape': (2, 3)}",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'extra': 1}", "['descr']",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2, -3)}", "{'descr: '<f4'}",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2 3)}",
        "{'descr': 'f', 'fortran_order': False, 'shape': (2, 3)}",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)} x"}) {
    SCOPED_TRACE(dict);
    NpySpec s = f32_spec();
    s.dict = dict;
    expect_error([&] { parse(fixtures::build_npy(s)); }, ErrorKind::Format);
  }
}

TEST(Npy, NotNpyAtAll) {
  const std::vector<std::uint8_t> bytes = {'P', 'K', 3, 4, 0, 0, 0, 0, 0, 0};
  auto e = expect_error([&] { parse(bytes); }, ErrorKind::Format);
  EXPECT_EQ(e.offset(), 0u);
  auto bad_version = fixtures::build_npy(f32_spec());
  bad_version[6] = 4;
  expect_error([&] { parse(bad_version); }, ErrorKind::Unsupported);
}

TEST(Npy, WriteThenReadRoundTrip) {
  fixtures::TempDir dir("npy-write");
  Matrix m(3, 5);
  for (int i = 0; i < 15; ++i) m.data()[i] = static_cast<float>(i) * 0.25f - 1.0f;
  write_npy_f32(dir / "out.npy", m);
  const auto file = MappedFile::open(dir / "out.npy");
  const auto h = parse_npy_header(file->bytes(), file->path());
  EXPECT_EQ(h.major, 1);
  EXPECT_EQ(h.descr, "<f4");
  EXPECT_EQ(h.shape, (std::vector<std::int64_t>{3, 5}));
  EXPECT_EQ(h.data_offset % 64, 0u);
  EXPECT_EQ(std::memcmp(file->data() + h.data_offset, m.data(), 60), 0);
  expect_error([&] { write_npy_f32(dir / "no/such/folder/x.npy", m); }, ErrorKind::Io);
}

}  // namespace
}  // namespace embstat
