#include "caffe.pb-c.h"
#include "caffe_roots.h"
