// Peer for `make bench`: parses a net prototxt with C++ protobuf's
// TextFormat, the call Caffe's ReadProtoFromTextFile makes, N times, and
// prints the median and minimum milliseconds. Built by the Makefile from our
// Proto/caffe.proto with protoc --cpp_out.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>
#include <google/protobuf/text_format.h>
#include "caffe.pb.h"

int main(int argc, char** argv) {
  if (argc < 3) { std::fprintf(stderr, "usage: parse_peer FILE N\n"); return 2; }
  std::ifstream in(argv[1]);
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string text = ss.str();
  const int n = std::atoi(argv[2]);
  std::vector<double> ms;
  for (int i = 0; i < n; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    caffe::NetParameter net;
    if (!google::protobuf::TextFormat::ParseFromString(text, &net)) return 1;
    auto t1 = std::chrono::steady_clock::now();
    ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  std::printf("%.4f %.4f\n", ms[ms.size() / 2], ms[0]);
  return 0;
}
