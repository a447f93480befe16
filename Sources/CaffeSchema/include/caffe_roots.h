/* Stable addresses of the schema's root descriptors for Swift, which may
 * otherwise copy an imported C global into a temporary. */
#ifndef CAFFE_ROOTS_H
#define CAFFE_ROOTS_H
#include "caffe.pb-c.h"

const ProtobufCMessageDescriptor *caffe_root_net_parameter(void);
const ProtobufCMessageDescriptor *caffe_root_solver_parameter(void);
const ProtobufCMessageDescriptor *caffe_root_solver_state(void);
const ProtobufCMessageDescriptor *caffe_root_blob_proto(void);
const ProtobufCMessageDescriptor *caffe_root_blob_proto_vector(void);
const ProtobufCMessageDescriptor *caffe_root_datum(void);

#endif
