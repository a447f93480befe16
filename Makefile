# SwiftCaffe. `make demo` and `make test` install what they need from Debian
# when run as root, and otherwise print the command to run.

SWIFT        ?= swift
CONFIG       ?= release
APT_PACKAGES := libprotobuf-c-dev libopenblas-dev libjpeg-dev libpng-dev zlib1g-dev liblmdb-dev libhdf5-dev pkg-config graphviz librsvg2-bin
PROTO_APT    := protobuf-c-compiler protobuf-compiler libprotobuf-dev
BIN           = .build/$(CONFIG)/swiftcaffe
# Fuzz cases in `make test`; FUZZ_CASES=100000 make test for a long run.
FUZZ_CASES   ?= 3000

.PHONY: all build python python-test python-install-check test test-mpi mpi demo examples install compare lenet bench bench-peers proto deps proto-deps opencv-fixtures reference-env check-zoo clean

all: build

deps:
	@scripts/ensure-apt.sh $(APT_PACKAGES)

proto-deps:
	@scripts/ensure-apt.sh $(PROTO_APT)

build: deps
	$(SWIFT) build -c $(CONFIG)

# XCTest only (--disable-swift-testing), in release with testing enabled:
# numeric code runs 10-100x slower in debug builds.
test: deps
	@# The LeNet and AlexNet tests read Fashion-MNIST's IDX files.
	@scripts/ensure-apt.sh dataset-fashion-mnist
	FUZZ_CASES=$(FUZZ_CASES) $(SWIFT) test -c release -Xswiftc -enable-testing --disable-swift-testing
	@# The convolution engines again with our GEMM off: the OpenBLAS paths that CPUs without AVX-512 take.
	SWIFTCAFFE_NARROW_GEMM=0 $(SWIFT) test -c release -Xswiftc -enable-testing --disable-swift-testing --skip-build \
	    --filter 'WinogradTests|ColumnConvolutionTests|FusionTests|ReferenceForwardTests|WeightPrecisionTests'
	$(MAKE) python-test

# The Python module (python/swiftcaffe, pycaffe's API): the C ABI library
# built and put next to the package, so that
# `PYTHONPATH=python python3 -c 'import swiftcaffe'` works. Copied under a
# temporary name first: a Python process may have the old one loaded.
PYTHON_LIB := python/swiftcaffe/libSwiftCaffeC.so
python: deps
	$(SWIFT) build -c release --product SwiftCaffeC
	cp .build/release/libSwiftCaffeC.so $(PYTHON_LIB).tmp && mv -f $(PYTHON_LIB).tmp $(PYTHON_LIB)
	@# The module needs numpy: Debian's for Debian's python3, else say so.
	@python3 -c 'import numpy' 2>/dev/null || scripts/ensure-apt.sh python3-numpy
	@python3 -c 'import numpy' 2>/dev/null || echo "note: $$(command -v python3) has no numpy; pip install numpy for it, or use $(PY_VENV)/bin/python (make python-test makes it)"

# The module's pytest suite, in a venv under .build (numpy, pillow, pytest, protobuf).
PY_VENV := .build/python-venv
python-test: python
	@scripts/ensure-apt.sh python3-venv
	@[ -x $(PY_VENV)/bin/python ] || python3 -m venv $(PY_VENV)
	@$(PY_VENV)/bin/python -c 'import numpy, PIL, pytest, google.protobuf, onnx, onnxruntime' 2>/dev/null \
	    || $(PY_VENV)/bin/pip install -q numpy pillow pytest 'protobuf==4.21.12' onnx onnxruntime
	$(PY_VENV)/bin/python -m pytest -q python/tests

# `pip install ./python` into a fresh venv (the build runs swift build), then
# the module imported from elsewhere: what a user installing it gets.
python-install-check: deps
	@scripts/ensure-apt.sh python3-venv
	rm -rf .build/pip-check && python3 -m venv .build/pip-check
	.build/pip-check/bin/pip install -q ./python
	rm -rf python/build python/*.egg-info
	cd / && $(CURDIR)/.build/pip-check/bin/python -c 'import swiftcaffe as caffe, os; \
	    assert os.path.dirname(caffe.__file__).endswith("site-packages/swiftcaffe"); print("pip-installed swiftcaffe", caffe.__version__)'

# The MPI build (data-parallel training, `mpirun -np N .build/mpi/release/swiftcaffe
# train ...`) in its own build folder; the plain build never needs MPI.
MPI_BIN := .build/mpi/release/swiftcaffe
mpi: deps
	@scripts/ensure-apt.sh openmpi-bin libopenmpi-dev
	SWIFTCAFFE_MPI=1 $(SWIFT) build -c release --build-path .build/mpi --product swiftcaffe

# The MPI tests (two ranks against one process, resuming across rank counts,
# mismatched ranks refused); skipped by `make test`, which needs no MPI.
test-mpi: deps mpi
	SWIFTCAFFE_MPI_BINARY=$(CURDIR)/$(MPI_BIN) $(SWIFT) test -c release -Xswiftc -enable-testing --disable-swift-testing --filter MPITests

# The main job: train the Fashion-MNIST AlexNet from its solver file (test
# accuracy printed at iterations 800, 1600 and 2400), then classify test
# records and two image files with the snapshot it wrote (the deploy file
# records the training's scale, which classify applies).
FASHION  := /usr/share/datasets/fashion-mnist
SNAPSHOT := runs/alexnet_fashion_iter_2400.caffemodel
demo: build
	@scripts/ensure-apt.sh dataset-fashion-mnist
	@mkdir -p runs
	@echo "== Training AlexNet (Fashion-MNIST size) from Models/fashion-mnist/alexnet_solver.prototxt =="
	$(BIN) train --solver Models/fashion-mnist/alexnet_solver.prototxt --log-file runs/alexnet_fashion.log --metrics runs/alexnet_fashion.csv
	@echo
	@echo "== Test accuracy of the snapshot on the 10,000 test images =="
	$(BIN) test --model Models/fashion-mnist/alexnet_train_test.prototxt --weights $(SNAPSHOT) --iterations 100 2>/dev/null
	@echo
	@echo "== Classifying the first test records with the snapshot =="
	$(BIN) classify --model Models/fashion-mnist/alexnet_deploy.prototxt --weights $(SNAPSHOT) \
	    --source $(FASHION)/t10k-images-idx3-ubyte.gz --records 0,1,2,3,4,5 --labels Models/fashion-mnist/labels.txt --top 1
	@echo
	@echo "== AlexNet and CaffeNet, side by side (pool and norm swapped in blocks 1-2) =="
	$(BIN) summary Models/alexnet/deploy.prototxt Models/caffenet/deploy.prototxt
	@echo
	@echo "== Classifying two image files (a PNG and a colour JPEG) with the snapshot =="
	$(BIN) classify --model Models/fashion-mnist/alexnet_deploy.prototxt --weights $(SNAPSHOT) \
	    --labels Models/fashion-mnist/labels.txt --top 2 Models/fashion-mnist/images/ankle_boot.png Models/fashion-mnist/images/pullover.jpg

# The library used from another package: Examples/ depends on this one by
# path; its program trains LeNet 100 steps, saves, reloads and classifies.
examples: deps
	@scripts/ensure-apt.sh dataset-fashion-mnist
	$(SWIFT) build --package-path Examples
	Examples/.build/debug/lenet-example

# `make install PREFIX=~/.local` (default /usr/local; DESTDIR for packaging):
# the binary, its man page and bash/zsh/fish completions, all generated from
# the argument parser (swift-argument-parser's generate-manual tool and
# --generate-completion-script).
PREFIX ?= /usr/local
MANDIR := .build/man
install: build
	$(SWIFT) build -c $(CONFIG) --product generate-manual
	@mkdir -p $(MANDIR)
	.build/$(CONFIG)/generate-manual $(BIN) -o $(MANDIR) --date $$(git log -1 --format=%cs 2>/dev/null || date +%F)
	$(BIN) --generate-completion-script bash > $(MANDIR)/swiftcaffe.bash
	$(BIN) --generate-completion-script zsh > $(MANDIR)/_swiftcaffe
	$(BIN) --generate-completion-script fish > $(MANDIR)/swiftcaffe.fish
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/bash-completion/completions \
	    $(DESTDIR)$(PREFIX)/share/zsh/site-functions $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d
	install -m 755 $(BIN) $(DESTDIR)$(PREFIX)/bin/swiftcaffe
	install -m 644 $(MANDIR)/swiftcaffe.1 $(DESTDIR)$(PREFIX)/share/man/man1/swiftcaffe.1
	install -m 644 $(MANDIR)/swiftcaffe.bash $(DESTDIR)$(PREFIX)/share/bash-completion/completions/swiftcaffe
	install -m 644 $(MANDIR)/_swiftcaffe $(DESTDIR)$(PREFIX)/share/zsh/site-functions/_swiftcaffe
	install -m 644 $(MANDIR)/swiftcaffe.fish $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/swiftcaffe.fish
	@echo "installed $(DESTDIR)$(PREFIX)/bin/swiftcaffe, its man page and completions"

# OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE are unset for this command alone, so the
# figures show the kernel OpenBLAS (and SwiftCaffe) choose on this machine.
bench: deps bench-peers
	$(SWIFT) build -c release --product swiftcaffe-bench
	env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE .build/release/swiftcaffe-bench

# Peers for `make bench`, built from our schema: C++ protobuf's TextFormat
# (Caffe's reader) and Python protobuf's text_format (matching protoc 3.21).
PEER := .build/bench-peer
bench-peers:
	@scripts/ensure-apt.sh protobuf-compiler libprotobuf-dev g++
	@mkdir -p $(PEER)
	protoc -I Proto -I /usr/include --cpp_out=$(PEER) --python_out=$(PEER) Proto/caffe.proto protobuf-c/protobuf-c.proto
	g++ -O2 -std=c++17 -I$(PEER) -o $(PEER)/parse_peer Benchmarks/peers/parse_peer.cc $(PEER)/caffe.pb.cc $(PEER)/protobuf-c/protobuf-c.pb.cc -lprotobuf -lpthread
	@[ -x $(PEER)/venv/bin/python ] || python3 -m venv $(PEER)/venv
	@$(PEER)/venv/bin/pip install -q 'protobuf==4.21.12' 'opencv-python-headless<5' numpy torch ncnn pnnx onnxruntime onnx
	@[ -f $(PEER)/alexnet_bvlc_layout.caffemodel ] || $(PEER)/venv/bin/python Benchmarks/peers/make_bvlc_layout.py $(PEER)/alexnet_bvlc_layout.caffemodel

# Regenerates the OpenCV reference outputs in Tests/SwiftCaffeTests/Fixtures/opencv
# (committed; tests need no Python). OpenCV 5 dropped the Caffe importer.
REFERENCE := .build/reference
reference-env:
	@scripts/ensure-apt.sh protobuf-compiler libprotobuf-dev
	@mkdir -p $(REFERENCE)/pb2
	protoc -I Proto -I /usr/include --python_out=$(REFERENCE)/pb2 Proto/caffe.proto protobuf-c/protobuf-c.proto
	@[ -x $(REFERENCE)/venv/bin/python ] || python3 -m venv $(REFERENCE)/venv
	@$(REFERENCE)/venv/bin/pip install -q 'opencv-python-headless<5' numpy 'protobuf==4.21.12' pillow h5py

opencv-fixtures: reference-env
	$(REFERENCE)/venv/bin/python Tests/SwiftCaffeTests/Fixtures/opencv/make_opencv_fixtures.py $(REFERENCE)/pb2
	$(REFERENCE)/venv/bin/python Tests/SwiftCaffeTests/Fixtures/weights/make_weight_fixtures.py $(REFERENCE)/pb2
	$(REFERENCE)/venv/bin/python Tests/SwiftCaffeTests/Fixtures/images/make_image_fixtures.py $(REFERENCE)/pb2
	cd Tests/SwiftCaffeTests/Fixtures/hdf5 && $(CURDIR)/$(REFERENCE)/venv/bin/python make_hdf5_fixtures.py

# Every net of Models/ at full size against OpenCV DNN: seeded weights
# (written under .build/check-zoo, deleted after each net), batch 1,
# `swiftcaffe forward --compare` within 1e-4 relative. NETS="vgg16 nin" for some.
check-zoo: build reference-env
	$(REFERENCE)/venv/bin/python scripts/check_zoo.py $(REFERENCE)/pb2 $(BIN) .build/check-zoo $(NETS)

# Regenerates the C schema code from Proto/caffe.proto (the output is committed).
proto: proto-deps
	protoc-c -I Proto -I /usr/include --c_out=Sources/CaffeSchema Proto/caffe.proto
	mv Sources/CaffeSchema/caffe.pb-c.h Sources/CaffeSchema/include/caffe.pb-c.h
	protoc-c -I Proto --c_out=Sources/OnnxSchema Proto/onnx.proto
	mv Sources/OnnxSchema/onnx.pb-c.h Sources/OnnxSchema/include/onnx.pb-c.h
	@mkdir -p .build
	protoc -I Proto -I /usr/include --include_source_info --descriptor_set_out=.build/caffe.desc Proto/caffe.proto
	python3 scripts/generate_messages.py .build/caffe.desc > .build/CaffeMessages.swift
	mv .build/CaffeMessages.swift Sources/SwiftCaffe/Schema/CaffeMessages.swift
	@# The Python module's caffe_pb2 needs only the protobuf package: the schema
	@# without protobuf-c's import and options (names and numbers unchanged).
	@mkdir -p .build/python-proto
	sed -e '/^import "protobuf-c\/protobuf-c.proto";/d' -e '/option (pb_c_msg)/d' Proto/caffe.proto > .build/python-proto/caffe.proto
	protoc -I .build/python-proto --python_out=python/swiftcaffe/proto .build/python-proto/caffe.proto

clean:
	rm -rf .build

# AlexNet vs CaffeNet on Fashion-MNIST: both trained from their solver files
# with one seed and data order; a table, compare.svg and both logs in runs/compare.
compare: build
	@scripts/ensure-apt.sh dataset-fashion-mnist
	@mkdir -p runs
	$(BIN) compare --solver Models/fashion-mnist/alexnet_solver.prototxt --solver Models/fashion-mnist/caffenet_solver.prototxt --output runs/compare \
	    --chart runs/compare/compare.png

# LeNet from Caffe's published solver on Fashion-MNIST; the first 4000 of its
# 10000 iterations (test accuracy printed every 500), then `test` on the snapshot.
lenet: build
	@scripts/ensure-apt.sh dataset-fashion-mnist
	@mkdir -p runs
	$(BIN) train --solver Models/lenet/solver.prototxt --iterations 4000 --log-file runs/lenet.log
	$(BIN) test --model Models/lenet/train_val.prototxt --weights runs/lenet_iter_4000.caffemodel --iterations 100 2>/dev/null
