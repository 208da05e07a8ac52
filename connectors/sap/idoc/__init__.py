"""ACC_DOCUMENT IDoc-XML files into a drop folder."""
