// Times embstat's encoder on a text file: load once, then encode the whole text, best of N.
// usage: tokenize_bench TOKENIZER TEXT_FILE [ROUNDS] [IDS_OUT]
// Prints "load_s=... encode_s=... tokens=... bytes=..." and, with IDS_OUT, writes the ids one
// per line (so the peer's can be compared).
#include <fmt/format.h>

#include <chrono>
#include <fstream>
#include <iostream>

#include "embstat/base/mapped_file.hpp"
#include "embstat/formats/tokenizer_source.hpp"

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: tokenize_bench TOKENIZER TEXT_FILE [ROUNDS] [IDS_OUT]\n";
    return 2;
  }
  using clock = std::chrono::steady_clock;
  const auto t0 = clock::now();
  const embstat::TokenizerSource tok = embstat::open_tokenizer(argv[1]);
  const double load_s = std::chrono::duration<double>(clock::now() - t0).count();
  const auto file = embstat::MappedFile::open(argv[2]);
  const std::string text(reinterpret_cast<const char*>(file->bytes().data()), file->bytes().size());
  const int rounds = argc > 3 ? std::atoi(argv[3]) : 3;
  double best = 1e30;
  embstat::Encoding encoding;
  for (int r = 0; r < rounds; ++r) {
    const auto t1 = clock::now();
    encoding = tok.encoder->encode(text, false);
    best = std::min(best, std::chrono::duration<double>(clock::now() - t1).count());
  }
  std::cout << fmt::format("load_s={:.3f} encode_s={:.3f} tokens={} bytes={}\n", load_s, best, encoding.tokens.size(),
                           text.size());
  if (argc > 4) {
    std::ofstream out(argv[4]);
    for (const auto& t : encoding.tokens) out << t.id << '\n';
  }
  return 0;
}
