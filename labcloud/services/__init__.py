"""labcloud's own AWS services; every other service is moto's."""
