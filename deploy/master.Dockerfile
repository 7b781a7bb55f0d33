FROM scratch
COPY podling-master /podling-master
EXPOSE 8070 7000
ENTRYPOINT ["/podling-master"]
