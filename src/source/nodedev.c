/* TODO: being written. */
#include "source.h"
