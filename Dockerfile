# The official Odoo 19 image plus the suite's Python requirements and OCA queue_job.
FROM odoo:19

USER root
COPY requirements.txt /tmp/ipai-requirements.txt
# OCA addon wheels require the `odoo` distribution, which pip cannot see in
# this image (Odoo is a Debian package): install them with --no-deps, and
# everything else normally.
RUN sed 's/#.*//' /tmp/ipai-requirements.txt | grep -v '^odoo-addon-' | grep . > /tmp/libs.txt \
    && sed 's/#.*//' /tmp/ipai-requirements.txt | grep '^odoo-addon-' > /tmp/addons.txt \
    && pip3 install --no-cache-dir --break-system-packages -r /tmp/libs.txt \
    && pip3 install --no-cache-dir --break-system-packages --no-deps -r /tmp/addons.txt \
    && rm /tmp/ipai-requirements.txt /tmp/libs.txt /tmp/addons.txt
USER odoo
