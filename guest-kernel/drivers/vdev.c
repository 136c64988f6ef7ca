/* vdev.c - what every transport's device shares in the driver: finding one, status, feature negotiation, 64-bit
 * configuration reads. A new transport is a finder in the table below and its ops. */
#include "guest.h"
#include "vdev.h"

static int (*const finders[])(uint32_t device_id, struct vdev *d) = {
	vmmio_vdev_find,
	vpci_vdev_find,
};

int vdev_find(uint32_t device_id, struct vdev *d)
{
	for (unsigned i = 0; i < sizeof(finders) / sizeof(finders[0]); i++)
		if (finders[i](device_id, d) == 0)
			return 0;
	return -1;
}

void vdev_add_status(struct vdev *d, uint32_t bits)
{
	d->ops->set_status(d, d->ops->status(d) | bits);
}

void vdev_fail(struct vdev *d, const char *why)
{
	kprintf("%s: %s\n", d->name, why);
	vdev_add_status(d, VIRTIO_CONFIG_S_FAILED);
}

int vdev_set_features(struct vdev *d, uint64_t features)
{
	d->ops->driver_features(d, features);
	if (d->version == 1)
		return 0; /* legacy: no FEATURES_OK handshake */
	vdev_add_status(d, VIRTIO_CONFIG_S_FEATURES_OK);
	/* §3.1.1 step 6: re-read; a device that cannot work with this subset clears the bit. */
	return (d->ops->status(d) & VIRTIO_CONFIG_S_FEATURES_OK) ? 0 : -1;
}

uint64_t vdev_config64(struct vdev *d, unsigned off)
{
	uint32_t gen, lo, hi;

	if (d->version == 1) {
		/* Legacy has no generation: re-read until the high half is stable around the low one. */
		do {
			hi = d->ops->config32(d, off + 4);
			lo = d->ops->config32(d, off);
		} while (hi != d->ops->config32(d, off + 4));
		return (uint64_t)hi << 32 | lo;
	}
	do {
		gen = d->ops->config_generation(d);
		lo = d->ops->config32(d, off);
		hi = d->ops->config32(d, off + 4);
	} while (gen != d->ops->config_generation(d));
	return (uint64_t)hi << 32 | lo;
}
