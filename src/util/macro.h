/* Ownership helpers: cleanup attributes, VP_STEAL, array sizes. */
#pragma once

#include <stdlib.h>

#define VP_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static inline void
vp_freep(void *p)
{
    free(*(void **)p);
}

/* A pointer freed with free() when it leaves scope. */
#define vp_autofree __attribute__((cleanup(vp_freep)))

/* Declare NAME##_freep for a type whose destructor is FUNC (which must accept NULL). */
#define VP_DEFINE_AUTOPTR(T, FUNC)                                                                 \
    static inline void T##_autoptr_cleanup(T **p)                                                  \
    {                                                                                              \
        FUNC(*p);                                                                                  \
    }

/* A T* destroyed with its registered destructor when it leaves scope. */
#define vp_autoptr(T) __attribute__((cleanup(T##_autoptr_cleanup))) T *

/* Hand over ownership: return *PP and set it to NULL. */
#define VP_STEAL(pp)                                                                               \
    ({                                                                                             \
        __typeof__(*(pp)) _vp_tmp = *(pp);                                                         \
        *(pp) = NULL;                                                                              \
        _vp_tmp;                                                                                   \
    })

#define VP_UNUSED __attribute__((unused))
#define VP_PRINTF(a, b) __attribute__((format(printf, a, b)))
