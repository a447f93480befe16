#include "caffe_roots.h"

const ProtobufCMessageDescriptor *caffe_root_net_parameter(void) { return &caffe__net_parameter__descriptor; }
const ProtobufCMessageDescriptor *caffe_root_solver_parameter(void) { return &caffe__solver_parameter__descriptor; }
const ProtobufCMessageDescriptor *caffe_root_solver_state(void) { return &caffe__solver_state__descriptor; }
const ProtobufCMessageDescriptor *caffe_root_blob_proto(void) { return &caffe__blob_proto__descriptor; }
const ProtobufCMessageDescriptor *caffe_root_blob_proto_vector(void) { return &caffe__blob_proto_vector__descriptor; }
const ProtobufCMessageDescriptor *caffe_root_datum(void) { return &caffe__datum__descriptor; }
